"""Master user (issue 14 item 3), obeyed by the running Dovecot with real traffic: IMAP
and POP3 accept ADDRESS*root with the master password while the switch is on, never
submission nor ManageSieve, and each such login lands in the audit log with the client's
address; when off, refused. The master password comes from standard input.
"""
from __future__ import annotations

import base64
import imaplib
import json
import poplib
import smtplib
import socket

import pytest
from sqlalchemy import select

from core.models import AuditEntry
from core.models.server import master_login
from tests.helpers import csrf_token, fresh_client, new_address, new_server_admin
from tests.integration.admin_support import AdminClient, send_inbound, unique, wait_until

from .server_support import defaults  # noqa: F401  (fixture: settings back to their defaults)
from .test_dovecot_settings import imap_from, pop3_from, tls

pytestmark = pytest.mark.directory  # run again on PostgreSQL (stack/test.sh)

MASTER = "a master passphrase for tests"
# This file's own client address; each refused login comes from a fresh_client(): Dovecot's
# auth penalty and the worker's limit are per client address.
READER = "127.0.0.94"


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def run(*args, stdin: str | None = None):
        result = runner.invoke(args=list(args), input=stdin)
        assert "Traceback" not in result.output, result.output
        return result.exit_code, (json.loads(result.output) if result.exit_code == 0 and "--json" in args
                                  else result.output)
    return run


@pytest.fixture
def master(cli):
    """The master password set (the stack is shared: set again by each test that needs it)."""
    code, done = cli("settings", "master-password", "--password-stdin", "--json", stdin=MASTER + "\n")
    assert code == 0 and done["master_user"] is False, done
    return MASTER


def imap_master(cfg: dict, address: str, password: str = MASTER, source: str = READER) -> imaplib.IMAP4:
    """A master login to ADDRESS's mailbox over IMAP from SOURCE (after STARTTLS)."""
    conn = imap_from(cfg, source)
    conn.starttls(tls())
    conn.login(master_login(address), password)
    return conn


def imap_refused(cfg: dict, address: str) -> bool:
    try:
        imap_master(cfg, address, source=fresh_client()).logout()
    except imaplib.IMAP4.error:
        return True
    return False


def pop3_count(cfg: dict, address: str, source: str = READER) -> int:
    """How many messages a master login sees over POP3; poplib.error_proto if refused."""
    conn = pop3_from(cfg, source)
    try:
        conn.stls(tls())
        conn.user(master_login(address))
        conn.pass_(MASTER)
        return conn.stat()[0]
    finally:
        conn.close()


def submission_refuses(cfg: dict, address: str) -> bool:
    with smtplib.SMTP(cfg["LISTEN_ADDRESS"], cfg["SUBMISSION_PORT"], local_hostname="client.test",
                      timeout=30, source_address=(fresh_client(), 0)) as conn:
        conn.starttls(context=tls())
        conn.ehlo()
        try:
            conn.login(master_login(address), MASTER)
        except smtplib.SMTPAuthenticationError:
            return True
    return False


def sieve_refuses(cfg: dict, address: str) -> bool:
    """ManageSieve AUTHENTICATE PLAIN as ADDRESS*root (from loopback: no STARTTLS needed)."""
    with socket.create_connection((cfg["LISTEN_ADDRESS"], cfg["SIEVE_PORT"]), 30,
                                  source_address=(fresh_client(), 0)) as raw:
        reader = raw.makefile("rb")

        def answer() -> bytes:
            while True:
                line = reader.readline()
                if not line or line.startswith((b"OK", b"NO", b"BYE")):
                    return line
        answer()
        token = base64.b64encode(f"\0{master_login(address)}\0{MASTER}".encode()).decode()
        raw.sendall(f'AUTHENTICATE "PLAIN" "{token}"\r\n'.encode())
        return answer().startswith(b"NO")


def master_logins(stack_db, address: str) -> list[dict]:
    with stack_db.factory() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "login",
                                                           AuditEntry.target == address)).all()
        return [{"actor": e.actor, **json.loads(e.after)} for e in entries]


def test_an_empty_master_password_is_refused_and_changes_nothing(cli, master):
    code, output = cli("settings", "master-password", "--password-stdin", stdin="\n")
    assert code != 0 and "empty" in output and "nothing changed" in output, output
    code, output = cli("settings", "master-password", "--password-stdin", stdin="short\n")
    assert code != 0 and "Nothing changed" in output, output
    code, done = cli("settings", "master-password", "--password-stdin", "--json", stdin=MASTER + "\n")
    assert code == 0 and done["replaced"] is True, done


def test_master_login_opens_the_mailbox_over_imap_and_pop3_only_while_on(cli, master, mail_stack,
                                                                           stack_db, domain):
    address = new_address(stack_db, domain, "read")
    subject = unique("for-the-master")
    send_inbound(mail_stack, address, subject)
    assert imap_refused(mail_stack, address)  # off by default

    code, done = cli("settings", "set", "master-user", "on", "--json")
    assert code == 0 and done["changed"] == {"master-user": True} and done["live"], done
    assert "dovecot: reloaded" in done["detail"], done

    conn = imap_master(mail_stack, address)
    try:
        conn.select("INBOX")
        assert wait_until(lambda: conn.noop() and conn.search(None, "SUBJECT", f'"{subject}"')[1][0])
        assert conn.append("Drafts", None, None, b"Subject: written by root\r\n\r\nx\r\n")[0] == "OK"
    finally:
        conn.logout()
    assert pop3_count(mail_stack, address) >= 1
    assert submission_refuses(mail_stack, address)
    assert sieve_refuses(mail_stack, address)
    with pytest.raises(imaplib.IMAP4.error):  # the master password only, not the user's
        imap_master(mail_stack, address, "integration-pass-1", source=fresh_client())

    assert wait_until(lambda: {"imap", "pop3"} <= {e["protocol"] for e in master_logins(stack_db, address)})
    for entry in master_logins(stack_db, address):
        assert entry["client"] == READER and entry["actor"] == "root (master user)", entry

    code, done = cli("settings", "set", "master-user", "off", "--json")
    assert code == 0 and done["changed"] == {"master-user": False}, done
    assert imap_refused(mail_stack, address)
    with pytest.raises(poplib.error_proto):
        pop3_count(mail_stack, address, source=fresh_client())


# --- Server admins open a mailbox in the webmail -------------------------------------

OPENER = "127.0.0.96"  # the admin's browser


def test_a_server_admin_reads_a_mailbox_in_the_webmail_and_returns(app, cli, master, mail_stack,
                                                                   stack_db, domain):
    address = new_address(stack_db, domain, "opened")
    subject = unique("read-by-admin")
    send_inbound(mail_stack, address, subject)
    admin = AdminClient(app, new_server_admin(stack_db, domain, "opener"), ip=OPENER)
    refused = admin.post(f"/admin/mailboxes/{address}/open", {"master_password": MASTER})
    assert refused.status_code == 400 and "master user is off" in refused.get_data(as_text=True)
    assert cli("settings", "set", "master-user", "on")[0] == 0

    response = admin.post(f"/admin/mailboxes/{address}/open", {"master_password": MASTER})
    assert response.status_code == 302 and response.headers["Location"].endswith("/mail")
    assert wait_until(lambda: subject in admin.text("/mail"))
    page = admin.text("/mail")
    assert f"You are reading {address}" in page and "Return to admin" in page
    assert "Compose" not in page and "/compose" not in page
    assert admin.get("/compose").status_code == 403
    assert admin.get("/settings/").status_code == 403
    assert admin.get("/contacts").status_code == 403  # the address book is theirs, as is every change to it
    admin.token = csrf_token(page)  # this reading session's
    assert admin.post("/contacts/group/rename", {"group": "Team", "new_name": "Mine"}).status_code == 403
    assert admin.get("/admin/").status_code == 403
    with stack_db.factory() as session:
        opened = session.scalars(select(AuditEntry).where(AuditEntry.action == "login",
                                                          AuditEntry.target == address,
                                                          AuditEntry.actor == admin.address)).all()
    assert len(opened) == 1 and json.loads(opened[0].after)["client"] == OPENER
    # Dovecot's own record of the master login names the browser's address too.
    assert wait_until(lambda: any(e["client"] == OPENER for e in master_logins(stack_db, address)))

    admin.token = csrf_token(page)
    for action in ("edit", "cancel"):  # taking back the person's scheduled mail writes Drafts
        assert admin.post(f"/scheduled/1/{action}", {}).status_code == 403
    back = admin.post("/return")
    assert back.status_code == 302 and back.headers["Location"].endswith(f"/admin/mailboxes/{address}")
    page = admin.text(f"/admin/mailboxes/{address}")
    assert "You are reading" not in page and "Open this mailbox" in page
    admin.token = csrf_token(page)
    assert "Compose" in admin.text("/mail")  # the admin's own webmail again


def test_a_wrong_master_password_opens_nothing(app, cli, master, stack_db, domain):
    address = new_address(stack_db, domain, "closed")
    assert cli("settings", "set", "master-user", "on")[0] == 0
    admin = AdminClient(app, new_server_admin(stack_db, domain, "guesser"), ip="127.0.0.97")
    response = admin.post(f"/admin/mailboxes/{address}/open", {"master_password": "not the master one"})
    assert response.status_code == 400 and "Wrong master password" in response.get_data(as_text=True)
    assert "You are reading" not in admin.text("/admin/")
