"""Small helpers shared by integration and browser tests (real daemons, no fakes)."""
from __future__ import annotations

import itertools
import json
import re
import struct
import time
import uuid
import zlib
from email.message import EmailMessage

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from core.db import Database
from core.mail import imap, smtp
from core.models import DOMAIN_ADMIN, AdminRole
from core.services.access import roles
from core.services.directory import lookup
from core.services.personal import junk

PASSWORD = "integration-pass-1"


_clients = itertools.count()


def fresh_client() -> str:
    """A loopback client address not used before: Dovecot's penalty after a failed login
    (doubling up to 15 s) and the worker's limit are per client address."""
    n = next(_clients)
    return f"127.0.{230 + n // 250}.{n % 250 + 1}"


def new_address(db: Database, domain: str, prefix: str = "user", spam_to_junk: bool = True) -> str:
    """Create a mailbox with PASSWORD on DOMAIN through the service layer; return its address.

    With SPAM_TO_JUNK off, mail Rspamd scores as spam (odd test messages often are)
    stays in the INBOX, for tests that are not about spam.
    """
    address = f"{prefix}-{uuid.uuid4().hex[:8]}@{domain}"
    with db.transaction() as session:
        lookup.add_mailbox(session, address, PASSWORD)
        if not spam_to_junk:
            junk.set_junk(session, address, False, None)
    return address


def new_server_admin(db: Database, domain: str, prefix: str = "admin") -> str:
    """A new mailbox (see new_address) with the server admin role; return its address."""
    address = new_address(db, domain, prefix)
    with db.transaction() as session:
        roles.grant_server_admin(session, address)
    return address


def new_domain_admin(db: Database, domain: str, of: str, prefix: str = "dadmin") -> str:
    """A new mailbox on DOMAIN (see new_address) made admin of the domain OF; return its address."""
    address = new_address(db, domain, prefix)
    with db.transaction() as session:
        mailbox = lookup.get_mailbox(session, address)
        session.add(AdminRole(mailbox_id=mailbox.id, role=DOMAIN_ADMIN,
                              domain_id=lookup.get_domain(session, of).id))
    return address


def message(sender: str, to: str, subject: str, body: str = "Hello from the tests.") -> EmailMessage:
    """A plain text message."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg.set_content(body)
    return msg


def png(width: int, height: int) -> bytes:
    """A real PNG of WIDTH x HEIGHT pixels in one colour."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = (b"\x00" + b"\x20\x40\x60" * width) * height
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def submit(cfg: dict, sender: str, to: str, subject: str, password: str = PASSWORD) -> None:
    """Send a message over submission, authenticated as SENDER."""
    smtp.send(smtp.SmtpSettings.submission(cfg), message(sender, to, subject),
              login=(sender, password))


def imap_login(cfg: dict, address: str, password: str = PASSWORD) -> IMAPClient:
    """A logged-in imapclient connection."""
    return imap.login(imap.ImapSettings.from_config(cfg), address, password)


def still_answers(client, seconds=5.0):
    """Whether an IMAP session keeps answering FETCH for SECONDS (a kick takes a moment)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            client.fetch(client.search(["ALL"]), ["FLAGS"])
        except (OSError, IMAPClientError):
            return False
        time.sleep(0.2)
    return True


def folder_uids(cfg: dict, address: str, folder: str) -> set[int]:
    """The UIDs of every message in ADDRESS's FOLDER, read over IMAP now."""
    client = imap_login(cfg, address)
    try:
        client.select_folder(folder, readonly=True)
        return set(client.search(["ALL"]))
    finally:
        client.logout()


def wait_for_subject(cfg: dict, address: str, subject: str, folder: str = "INBOX",
                     timeout: float = 20.0, password: str = PASSWORD) -> bytes:
    """Poll FOLDER of ADDRESS until a message with SUBJECT arrives; return its raw bytes."""
    client = imap_login(cfg, address, password)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            client.select_folder(folder, readonly=True)
            uids = client.search(["SUBJECT", subject])
            if uids:
                return client.fetch(uids[:1], ["RFC822"])[uids[0]][b"RFC822"]
            time.sleep(0.2)
    finally:
        client.logout()
    raise AssertionError(f"no message {subject!r} in {address}/{folder} after {timeout}s")


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in HTML."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def deliver_raw(cfg: dict, to: str, raw: bytes, sender: str = "sender@outside.test") -> None:
    """Hand RAW bytes to Postfix's inbound port, as another mail server would."""
    import smtplib

    with smtplib.SMTP(cfg["LISTEN_ADDRESS"], cfg["SMTP_PORT"], local_hostname="localhost",
                      timeout=30) as conn:
        conn.sendmail(sender, [to], raw)


def post_login(client, address: str, password: str = PASSWORD, ip: str = "127.0.0.1"):
    """Fill in the sign-in form of a Flask test client from IP; return the answer (302: signed in)."""
    page = client.get("/login", environ_base={"REMOTE_ADDR": ip})
    return client.post("/login", data={"address": address, "password": password,
                                       "csrf_token": csrf_token(page.get_data(as_text=True))},
                       environ_base={"REMOTE_ADDR": ip})


def signed_in_client(app, address: str, password: str = PASSWORD, ip: str = "127.0.0.1"):
    """A Flask test client signed in as ADDRESS."""
    client = app.test_client()
    response = post_login(client, address, password, ip)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def sign_in(page, live_url: str, address: str, password: str = PASSWORD) -> None:
    """Sign in with the browser's login form; returns once the Inbox has loaded."""
    page.goto(live_url + "/login")
    page.get_by_label("E-mail address").fill(address)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Inbox").wait_for()
    page.wait_for_load_state()  # the page's scripts have run (keyboard shortcuts)


def uid_of(cfg: dict, address: str, subject: str, folder: str = "INBOX") -> int:
    """The UID of the message with SUBJECT in FOLDER (after waiting for it)."""
    wait_for_subject(cfg, address, subject, folder)
    client = imap_login(cfg, address)
    try:
        client.select_folder(folder, readonly=True)
        return client.search(["SUBJECT", subject])[0]
    finally:
        client.logout()


def command_runner(app, *group: str):
    """A function running `flask --app app GROUP ARGS…`: (exit code, output), the output
    parsed when --json was given and the command succeeded; never a traceback."""
    runner = app.test_cli_runner()

    def run(*args: str):
        result = runner.invoke(args=[*group, *args])
        assert "Traceback" not in result.output
        if result.exit_code == 0 and "--json" in args:
            return 0, json.loads(result.output)
        return result.exit_code, result.output
    return run


# An IMAP command as imaplib sends it: 'A12 UID FETCH ...' names FETCH.
COMMAND = re.compile(rb"^[A-Z]+\d+ (?:UID )?([A-Z]+)")


def commands_sent(client, monkeypatch) -> list[str]:
    """The names of the IMAP commands CLIENT sends from now on (filled as they go out)."""
    sent, send = [], client._imap.send

    def counting(data: bytes) -> None:
        if found := COMMAND.match(data):
            sent.append(found.group(1).decode())
        send(data)

    monkeypatch.setattr(client._imap, "send", counting)
    return sent
