"""Helpers for the portal's integration and browser tests: signing in, forms, real mail.

Everything goes through the real daemons: Postfix's inbound port (so Rspamd and the
before-scripts see the message), Dovecot's LMTP socket for a message that must reach
Sieve exactly as written, IMAP to look into folders and ManageSieve as "another client".
"""
from __future__ import annotations

import smtplib
import subprocess
import time
import uuid
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import parseaddr

from core.mail import imap, sieve
from core.services.directory import lookup
from core.services.errors import NotFound
from stack.layout import Layout
from tests.helpers import PASSWORD, csrf_token, imap_login, new_address, signed_in_client, wait_for_subject

OTHER_DOMAIN = "other.test"


def ensure_domain(db, name: str = OTHER_DOMAIN) -> str:
    """A second local delivery domain."""
    with db.transaction() as session:
        try:
            lookup.get_domain(session, name)
        except NotFound:
            lookup.add_domain(session, name)
    return name


def signed_in_person(app, db, domain: str, prefix: str) -> tuple:
    """A fresh mailbox on DOMAIN and a Flask test client signed in as it: (address, client)."""
    address = new_address(db, domain, prefix)
    return address, signed_in_client(app, address)


def post(client, form_url: str, data: dict, url: str | None = None, ip: str = "127.0.0.1"):
    """POST DATA (with the CSRF token of the page at FORM_URL) to URL or FORM_URL."""
    token = csrf_token(client.get(form_url, environ_base={"REMOTE_ADDR": ip}).get_data(as_text=True))
    return client.post(url or form_url, data={**data, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": ip})


def rule_form(name: str, conditions: list[tuple], actions: list[tuple], match: str = "all",
              enabled: bool = True) -> dict:
    """The builder's fields: conditions (field, op, value[, header or unit]), actions (kind, arg[, keep])."""
    data = {"name": name, "match": match, "save": "1"}
    if enabled:
        data["enabled"] = "on"
    for i, (field, op, value, *extra) in enumerate(conditions):
        data.update({f"cond-{i}-field": field, f"cond-{i}-op": op, f"cond-{i}-value": value})
        if extra:
            data[f"cond-{i}-{'unit' if field == 'size' else 'header'}"] = extra[0]
    for i, (kind, *args) in enumerate(actions):
        data[f"act-{i}-kind"] = kind
        if args:
            key = {"move": "folder", "copy": "folder", "forward": "address", "reject": "text"}[kind]
            data[f"act-{i}-{key}"] = args[0]
        if kind == "forward" and len(args) > 1 and args[1]:
            data[f"act-{i}-keep"] = "1"
    return data


def unique(prefix: str) -> str:
    """A subject word no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def send(cfg: dict, to: str, subject: str, body: str = "Hello from the tests.",
         sender: str = "someone@outside.test", headers: dict | None = None) -> None:
    """Hand a message to Postfix's inbound port (Rspamd and Dovecot's Sieve see it)."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    # Only TO is an envelope recipient: a Cc header must not become one.
    with smtplib.SMTP(cfg["LISTEN_ADDRESS"], int(cfg["SMTP_PORT"]), local_hostname="localhost",
                      timeout=20) as conn:
        conn.send_message(msg, from_addr=parseaddr(sender)[1], to_addrs=[to])


def lmtp_deliver(cfg: dict, rcpt: str, raw: bytes, sender: str = "someone@outside.test") -> None:
    """Deliver RAW straight to Dovecot's LMTP socket, past Postfix and Rspamd."""
    with smtplib.LMTP(str(Layout.from_config(cfg).lmtp_socket)) as lmtp:
        lmtp.sendmail(sender, [rcpt], raw)


def subjects(cfg: dict, address: str, folder: str = "INBOX") -> list[str]:
    """The subjects in FOLDER of ADDRESS."""
    client = imap_login(cfg, address)
    try:
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        data = client.fetch(uids, ["ENVELOPE"]) if uids else {}
        return [(data[u][b"ENVELOPE"].subject or b"").decode() for u in uids]
    finally:
        client.logout()


def flags_of(cfg: dict, address: str, subject: str, folder: str = "INBOX") -> set[str]:
    """The flags of the message with SUBJECT."""
    client = imap_login(cfg, address)
    try:
        client.select_folder(folder, readonly=True)
        uids = client.search(["SUBJECT", subject])
        flags = client.get_flags(uids)[uids[0]]
        return {f.decode() for f in flags}
    finally:
        client.logout()


def settle(cfg: dict, address: str) -> None:
    """Send a last message to ADDRESS and wait for it: what was sent before has been delivered."""
    marker = unique("sentinel")
    send(cfg, address, marker)
    wait_for_subject(cfg, address, marker)
    time.sleep(0.3)


def create_folders(cfg: dict, address: str, *names: str) -> None:
    """Create folders for ADDRESS over IMAP."""
    client = imap_login(cfg, address)
    try:
        for name in names:
            client.create_folder(name)
    finally:
        client.logout()


@contextmanager
def managesieve(cfg: dict, address: str, password: str = PASSWORD):
    """A ManageSieve session as ADDRESS, like any other Sieve client would open."""
    with sieve.session(sieve.SieveSettings.from_config(cfg), address, password) as store:
        yield store


def userdb(cfg: dict, address: str) -> dict[str, str]:
    """The fields Dovecot's userdb returns for ADDRESS (`doveadm user`)."""
    conf = str(Layout.from_config(cfg).dovecot_conf)
    out = subprocess.run(["doveadm", "-c", conf, "user", address], capture_output=True,
                         text=True, check=True).stdout
    return dict(line.split("\t", 1) for line in out.splitlines()[1:] if "\t" in line)


def imap_settings(cfg: dict) -> imap.ImapSettings:
    """The stack's IMAP settings."""
    return imap.ImapSettings.from_config(cfg)
