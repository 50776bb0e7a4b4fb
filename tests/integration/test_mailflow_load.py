"""Mail keeps flowing while people sign in and admins change the directory (issue 10).

Postfix's sqlite dictionary has no busy handler: a lookup that meets a write lock
is fatal for that Postfix process and the master throttles the service for 60 s.
This test signs people in and out in a tight loop and runs a bulk directory change
while other threads deliver mail over SMTP, then reads the daemons' own logs.
"""
from __future__ import annotations

import grp
import os
import smtplib
import sqlite3
import stat
import subprocess
import threading
import time
import uuid
from pathlib import Path

import bcrypt
import pytest
from sqlalchemy import delete, select

from core.models import Credential, Domain, Mailbox
from stack import procs
from stack.layout import Layout
from tests.helpers import imap_login, message, new_address, post_login

DURATION = float(os.environ.get("MAILROOM_TEST_LOAD_SECONDS", "30"))
SIGNERS = 6
SENDERS = 4
BULK = 1000
LOG_FAILURES = ("database is locked", "throttling", "SQL step failed", "SQL prepare failed",
                "queue file write error")


class Tally:
    """What the load threads saw, shared under a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: dict[str, int] = {}
        self.errors: list[str] = []
        self.latencies: list[float] = []
        self.signins = 0
        self.bulk_rounds = 0

    def add_error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


def _log_offsets(layout: Layout) -> dict[str, int]:
    return {name: layout.log_file(name).stat().st_size for name in ("postfix", "dovecot")}


def _log_failures(layout: Layout, offsets: dict[str, int]) -> list[str]:
    found = []
    for name, offset in offsets.items():
        with open(layout.log_file(name), "rb") as handle:
            handle.seek(offset)
            for line in handle.read().decode("utf-8", "replace").splitlines():
                if any(marker in line for marker in LOG_FAILURES):
                    found.append(f"{name}: {line}")
    return found


def _deliver_loop(cfg: dict, recipients: list[str], tag: str, stop: threading.Event,
                  tally: Tally) -> None:
    """Hand well-formed messages to Postfix's inbound port, one connection each."""
    count = 0
    while not stop.is_set():
        rcpt = recipients[count % len(recipients)]
        subject = f"{tag} {threading.get_ident()} {count}"
        began = time.monotonic()
        try:
            with smtplib.SMTP(cfg["LISTEN_ADDRESS"], cfg["SMTP_PORT"],
                              local_hostname="localhost", timeout=30) as conn:
                conn.send_message(message("load@outside.test", rcpt, subject,
                                          "A well-formed message, " * 12))
        except (smtplib.SMTPException, OSError) as exc:
            tally.add_error(f"SMTP to {rcpt}: {exc!r}")
        else:
            with tally.lock:
                tally.sent[rcpt] = tally.sent.get(rcpt, 0) + 1
                tally.latencies.append(time.monotonic() - began)
        count += 1


def _signin_loop(app, address: str, stop: threading.Event, tally: Tally) -> None:
    """Sign in (IMAP LOGIN + a web session row) and out again, as fast as possible."""
    while not stop.is_set():
        client = app.test_client()
        response = post_login(client, address)
        if response.status_code != 302:
            tally.add_error(f"sign-in answered {response.status_code}")
            continue
        client.get("/mail/")
        page = client.get("/settings/").get_data(as_text=True)
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/logout", data={"csrf_token": token})
        with tally.lock:
            tally.signins += 1


def _bulk_loop(stack_db, domain: str, stop: threading.Event, tally: Tally) -> None:
    """Add BULK mailboxes in one transaction, then remove them, until told to stop."""
    password_hash = bcrypt.hashpw(b"bulk-import-pass", bcrypt.gensalt(rounds=4)).decode()
    while not stop.is_set():
        prefix = f"bulk{uuid.uuid4().hex[:6]}"
        with stack_db.transaction() as session:
            dom = session.scalar(select(Domain).where(Domain.name == domain))
            session.add_all(
                Mailbox(domain_id=dom.id, local_part=f"{prefix}-{n}", address=f"{prefix}-{n}@{domain}",
                        password_hash=password_hash)
                for n in range(BULK)
            )
        with stack_db.transaction() as session:
            added = select(Mailbox.address).where(Mailbox.local_part.like(f"{prefix}-%"))
            # A bulk delete skips the ORM's cascade: the credentials go by their own.
            session.execute(delete(Credential).where(Credential.address.in_(added)))
            session.execute(delete(Mailbox).where(Mailbox.local_part.like(f"{prefix}-%")))
        with tally.lock:
            tally.bulk_rounds += 1


def _count_delivered(cfg: dict, address: str, tag: str) -> int:
    client = imap_login(cfg, address)
    try:
        client.select_folder("INBOX", readonly=True)
        return len(client.search(["SUBJECT", tag]))
    finally:
        client.logout()


@pytest.fixture
def busy_app(mail_stack):
    """The app with sign-in limits out of the way: this test signs in on purpose, often."""
    from app import create_app

    # SIGNERS sign in at once, in a loop: more than the web server would check at a time.
    return create_app({**mail_stack, "ENV": "testing", "LOGIN_LIMIT_ADDRESS": "100000 per minute",
                       "LOGIN_LIMIT_IP": "100000 per minute", "SIGNIN_CONCURRENCY": SIGNERS})


def test_mail_flows_while_people_sign_in_and_admins_bulk_change(busy_app, mail_stack, stack_db,
                                                                 domain):
    layout = Layout.from_config(mail_stack)
    recipients = [new_address(stack_db, domain, "flow", spam_to_junk=False) for _ in range(3)]
    signers = [new_address(stack_db, domain, "signer") for _ in range(SIGNERS)]
    tag = f"flow-{uuid.uuid4().hex[:8]}"
    offsets = _log_offsets(layout)
    tally, stop = Tally(), threading.Event()
    threads = [threading.Thread(target=_deliver_loop, args=(mail_stack, recipients, tag, stop, tally))
               for _ in range(SENDERS)]
    threads += [threading.Thread(target=_signin_loop, args=(busy_app, a, stop, tally)) for a in signers]
    threads.append(threading.Thread(target=_bulk_loop, args=(stack_db, domain, stop, tally)))
    for thread in threads:
        thread.start()
    time.sleep(DURATION)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    assert tally.signins > 20 and tally.bulk_rounds >= 1, "the load did not run"
    assert not tally.errors, tally.errors[:10]
    assert not _log_failures(layout, offsets), _log_failures(layout, offsets)[:10]
    # Nothing lost: every accepted message reaches its mailbox.
    deadline = time.monotonic() + 60
    delivered = {}
    while time.monotonic() < deadline:
        delivered = {r: _count_delivered(mail_stack, r, tag) for r in recipients}
        if delivered == tally.sent:
            break
        time.sleep(1)
    assert delivered == tally.sent


def _lookup_as(user: str, database: Path, address: str) -> subprocess.CompletedProcess:
    """One read-only lookup with no busy timeout, as Postfix's sqlite dictionary makes it."""
    code = ("import sqlite3, sys; c = sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True, "
            "timeout=0); print(c.execute('SELECT address FROM mailboxes WHERE address = ?', "
            "(sys.argv[2],)).fetchall())")
    return subprocess.run(["runuser", "-u", user, "--", "/usr/bin/python3", "-c", code,
                           str(database), address], capture_output=True, text=True, timeout=30)


@pytest.fixture
def sqlite_stack(mail_stack):
    """The stack, when its database is an SQLite file (PostgreSQL has no WAL index)."""
    if not str(mail_stack["DATABASE_URL"]).startswith("sqlite:"):
        pytest.skip("SQLite's WAL mode only")
    return mail_stack


def test_a_daemon_lookup_never_waits_for_a_writer(sqlite_stack, stack_db, domain):
    address = new_address(stack_db, domain, "wal")
    database = Layout.from_config(sqlite_stack).database
    writer = sqlite3.connect(database, timeout=5)
    try:
        writer.execute("BEGIN EXCLUSIVE")  # in rollback-journal mode this shuts readers out
        writer.execute("UPDATE mailboxes SET display_name = 'busy' WHERE address = ?", (address,))
        done = _lookup_as("postfix", database, address)
    finally:
        writer.rollback()
        writer.close()
    assert done.returncode == 0, done.stderr
    assert address in done.stdout


def test_wal_index_is_held_open_and_writable_by_the_daemons_group(sqlite_stack):
    layout = Layout.from_config(sqlite_stack)
    database = layout.database
    shm = database.with_name(database.name + "-shm")
    info = shm.stat()
    assert stat.S_IMODE(info.st_mode) == 0o660 and grp.getgrgid(info.st_gid).gr_name == "postfix"
    assert stat.S_IMODE(database.stat().st_mode) == 0o640  # the data itself stays read-only
    # The worker holds the database open, so SQLite never removes the index the
    # read-only daemons cannot re-create.
    pid = procs.read_record(layout.record("worker")).pid
    held = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    assert str(database) in held and str(shm) in held
