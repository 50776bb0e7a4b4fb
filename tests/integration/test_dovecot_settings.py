"""Dovecot's settings (issue 14 items 4-6), obeyed by the running daemons with real traffic:
deleted mail to Trash (IMAP STORE \\Deleted + EXPUNGE), IMAP/POP3 per mailbox, and
passwords only over encrypted connections, tried from 127.0.0.2-like addresses (only
127.0.0.1, the webmail's, is exempt).
"""
from __future__ import annotations

import imaplib
import json
import logging
import poplib
import smtplib
import socket
import ssl
import time

import pytest

from core.models import AuditEntry, ServerSettings
from tests.helpers import PASSWORD, new_address, post_login
from tests.integration.admin_support import unique

from .server_support import admin, defaults, save  # noqa: F401  (admin, defaults: fixtures)

pytestmark = pytest.mark.directory  # run again on PostgreSQL (stack/test.sh)

log = logging.getLogger(__name__)
# Each test's own client addresses: Dovecot's auth penalty and the worker's login limit
# are per address.
OUTSIDE = "127.0.0.2"
PROTOCOL_OFF = "127.0.0.91"
UNENCRYPTED = "127.0.0.92"


def tls() -> ssl.SSLContext:
    """The local stack's certificate is self-signed: no verification in these tests."""
    return ssl._create_unverified_context()  # noqa: S323


def _from(source: str, implicit: bool):
    """A _create_socket for imaplib/poplib that connects from SOURCE (TLS first if IMPLICIT)."""
    def create(self, timeout=None):
        sock = socket.create_connection((self.host, self.port), timeout or 30, source_address=(source, 0))
        return tls().wrap_socket(sock, server_hostname=self.host) if implicit else sock
    return create


def imap_from(cfg: dict, source: str, implicit: bool = False) -> imaplib.IMAP4:
    """An IMAP connection from SOURCE: on the STARTTLS port, or the IMAPS port."""
    cls = imaplib.IMAP4_SSL if implicit else imaplib.IMAP4
    kind = type("SourcedIMAP", (cls,), {"_create_socket": _from(source, implicit)})
    if implicit:
        return kind(cfg["LISTEN_ADDRESS"], cfg["IMAPS_PORT"], ssl_context=tls(), timeout=30)
    return kind(cfg["LISTEN_ADDRESS"], cfg["IMAP_PORT"], timeout=30)


def pop3_from(cfg: dict, source: str, implicit: bool = False) -> poplib.POP3:
    """A POP3 connection from SOURCE: on the STARTTLS port, or the POP3S port."""
    cls = poplib.POP3_SSL if implicit else poplib.POP3
    kind = type("SourcedPOP3", (cls,), {"_create_socket": _from(source, implicit)})
    if implicit:
        return kind(cfg["LISTEN_ADDRESS"], cfg["POP3S_PORT"], context=tls(), timeout=30)
    return kind(cfg["LISTEN_ADDRESS"], cfg["POP3_PORT"], timeout=30)


def imap_login_ok(cfg: dict, source: str, address: str, starttls: bool = False, implicit: bool = False,
                  password: str = PASSWORD) -> bool:
    """Whether an IMAP LOGIN from SOURCE is accepted (after STARTTLS, or on IMAPS, if asked)."""
    conn = imap_from(cfg, source, implicit)
    try:
        if starttls:
            conn.starttls(tls())
        try:
            conn.login(address, password)
        except imaplib.IMAP4.error:
            return False
        return True
    finally:
        conn.shutdown()


def pop3_login_ok(cfg: dict, source: str, address: str, starttls: bool = False, implicit: bool = False,
                  password: str = PASSWORD) -> bool:
    conn = pop3_from(cfg, source, implicit)
    try:
        if starttls:
            conn.stls(tls())
        try:
            conn.user(address)
            conn.pass_(password)
        except poplib.error_proto:
            return False
        return True
    finally:
        conn.close()


def sieve_login_ok(cfg: dict, source: str, address: str, starttls: bool = False,
                   password: str = PASSWORD) -> bool:
    """ManageSieve (RFC 5804) AUTHENTICATE PLAIN from SOURCE, after STARTTLS if asked."""
    import base64

    raw = socket.create_connection((cfg["LISTEN_ADDRESS"], cfg["SIEVE_PORT"]), 30, source_address=(source, 0))
    conn, reader = raw, raw.makefile("rb")

    def until_ok():
        while True:
            line = reader.readline()
            if not line or line.startswith((b"OK", b"NO", b"BYE")):
                return line

    try:
        until_ok()
        if starttls:
            conn.sendall(b"STARTTLS\r\n")
            assert until_ok().startswith(b"OK")
            conn = tls().wrap_socket(raw, server_hostname=cfg["LISTEN_ADDRESS"])
            reader = conn.makefile("rb")
            until_ok()  # the capabilities again
        token = base64.b64encode(f"\0{address}\0{password}".encode()).decode()
        conn.sendall(f'AUTHENTICATE "PLAIN" "{token}"\r\n'.encode())
        return until_ok().startswith(b"OK")
    finally:
        conn.close()


def smtp_login_ok(cfg: dict, source: str, address: str, starttls: bool = False, implicit: bool = False,
                  password: str = PASSWORD) -> bool:
    """SMTP AUTH on submission (587 here) after STARTTLS if asked, or on SMTPS (465)."""
    if implicit:
        conn = smtplib.SMTP_SSL(cfg["LISTEN_ADDRESS"], cfg["SMTPS_PORT"], local_hostname="client.test",
                                timeout=30, source_address=(source, 0), context=tls())
    else:
        conn = smtplib.SMTP(cfg["LISTEN_ADDRESS"], cfg["SUBMISSION_PORT"], local_hostname="client.test",
                            timeout=30, source_address=(source, 0))
    with conn:
        conn.ehlo()
        if starttls:
            conn.starttls(context=tls())
            conn.ehlo()
        if not conn.has_extn("auth"):
            return False
        try:
            conn.login(address, password)
        except smtplib.SMTPException:
            return False
        return True


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def run(*args):
        result = runner.invoke(args=list(args))
        assert "Traceback" not in result.output, result.output
        return result.exit_code, (json.loads(result.output) if result.exit_code == 0 and "--json" in args
                                  else result.output)
    return run


# --- 4. Deleted mail goes to Trash ----------------------------------------------------


def subjects(conn: imaplib.IMAP4, folder: str, subject: str) -> int:
    """How many messages with SUBJECT FOLDER holds (and none of them \\Deleted)."""
    conn.select(folder, readonly=True)
    found = conn.search(None, "SUBJECT", f'"{subject}"')[1][0].split()
    if found:
        flags = conn.fetch(b",".join(found), "(FLAGS)")[1]
        assert not any(b"\\Deleted" in line for line in flags if isinstance(line, bytes)), flags
    return len(found)


def delete_and_expunge(cfg: dict, address: str, subject: str, folder: str = "INBOX") -> dict[str, int]:
    """APPEND a message to FOLDER, STORE +FLAGS (\\Deleted), EXPUNGE, as Outlook does;
    how many copies FOLDER and Trash then hold."""
    conn = imap_from(cfg, "127.0.0.1")
    try:
        conn.login(address, PASSWORD)
        raw = f"From: a@outside.test\r\nTo: {address}\r\nSubject: {subject}\r\n\r\nbody\r\n".encode()
        assert conn.append(folder, None, None, raw)[0] == "OK"
        conn.select(folder)
        uids = conn.uid("SEARCH", "SUBJECT", f'"{subject}"')[1][0].split()
        assert len(uids) == 1
        conn.uid("STORE", uids[0], "+FLAGS", "(\\Deleted)")
        assert conn.expunge()[0] == "OK"
        conn.expunge()  # a second EXPUNGE puts nothing in Trash twice
        return {folder: subjects(conn, folder, subject), "Trash": subjects(conn, "Trash", subject)}
    finally:
        conn.logout()


def test_deleted_mail_goes_to_trash_once_when_on_and_is_gone_when_off(cli, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "outlook")
    assert delete_and_expunge(mail_stack, address, unique("before")) == {"INBOX": 0, "Trash": 0}

    began = time.monotonic()
    code, done = cli("settings", "set", "deleted-to-trash", "on", "--json")
    assert code == 0 and done["changed"] == {"deleted-to-trash": True} and done["live"], done
    assert "dovecot: reloaded" in done["detail"] and "postfix" not in done["detail"], done
    log.info("deleted-to-trash on: saved and Dovecot reloaded in %.2f s", time.monotonic() - began)

    assert delete_and_expunge(mail_stack, address, unique("inbox")) == {"INBOX": 0, "Trash": 1}
    assert delete_and_expunge(mail_stack, address, unique("sent"), "Sent") == {"Sent": 0, "Trash": 1}
    # Deleting in Trash erases; a replaced draft does not land in Trash.
    assert delete_and_expunge(mail_stack, address, unique("trash"), "Trash") == {"Trash": 0}
    assert delete_and_expunge(mail_stack, address, unique("draft"), "Drafts") == {"Drafts": 0, "Trash": 0}

    # A MOVE to another folder (the webmail's "move", Junk training) leaves no copy in Trash.
    moved = unique("moved")
    conn = imap_from(mail_stack, "127.0.0.1")
    try:
        conn.login(address, PASSWORD)
        conn.append("INBOX", None, None, f"Subject: {moved}\r\n\r\nbody\r\n".encode())
        conn.select("INBOX")
        uid = conn.uid("SEARCH", "SUBJECT", f'"{moved}"')[1][0].split()[0]
        assert conn.uid("MOVE", uid, "Archive")[0] == "OK"
        assert subjects(conn, "Archive", moved) == 1 and subjects(conn, "Trash", moved) == 0
    finally:
        conn.logout()

    assert cli("settings", "set", "deleted-to-trash", "off")[0] == 0
    assert delete_and_expunge(mail_stack, address, unique("after")) == {"INBOX": 0, "Trash": 0}
    with stack_db.factory() as session:
        assert session.query(AuditEntry).filter_by(kind="server", target="settings").filter(
            AuditEntry.after.contains("deleted_to_trash")).count() >= 2


def test_the_server_page_shows_and_saves_the_dovecot_settings(admin, mail_stack, stack_db):
    page = admin.get("/admin/server").get_data(as_text=True)
    assert "Deleted mail goes to Trash" in page and "Allow unencrypted connections" in page
    save(admin, "trash", deleted_to_trash="on")
    page = admin.get("/admin/server").get_data(as_text=True)
    assert "Dovecot reloaded" in page
    with stack_db.factory() as session:
        row = session.get(ServerSettings, 1)
        assert row.deleted_to_trash is True and row.allow_unencrypted is False
    response = admin.post("/admin/server/encryption", {"allow_unencrypted": "maybe"})
    assert response.status_code == 400 and "neither on nor off" in response.get_data(as_text=True)
    with stack_db.factory() as session:
        assert session.get(ServerSettings, 1).allow_unencrypted is False


# --- 5. IMAP and POP3 per mailbox -----------------------------------------------------


def test_imap_or_pop3_turned_off_refuses_that_login_only(cli, app, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "proto")
    ok = dict(source="127.0.0.1", address=address)
    assert imap_login_ok(mail_stack, **ok) and pop3_login_ok(mail_stack, **ok)

    code, done = cli("mailbox", "set", address, "--no-pop3", "--json")
    assert code == 0 and done["pop3"] is False and done["imap"] is True, done
    assert imap_login_ok(mail_stack, **ok)
    assert not pop3_login_ok(mail_stack, PROTOCOL_OFF, address, starttls=True)
    assert sieve_login_ok(mail_stack, "127.0.0.1", address)  # ManageSieve is untouched
    assert smtp_login_ok(mail_stack, "127.0.0.1", address, starttls=True)  # and so is submission

    code, done = cli("mailbox", "set", address, "--pop3", "--no-imap", "--json")
    assert code == 0 and done["pop3"] is True and done["imap"] is False, done
    assert pop3_login_ok(mail_stack, **ok)
    assert not imap_login_ok(mail_stack, PROTOCOL_OFF, address, starttls=True)
    # The webmail signs in over IMAP: refused too.
    response = post_login(app.test_client(), address, ip=PROTOCOL_OFF)
    assert response.status_code != 302 or "/login" in response.headers.get("Location", "")
    assert cli("mailbox", "set", address, "--imap")[0] == 0
    assert imap_login_ok(mail_stack, **ok)
    assert cli("mailbox", "set", "nobody@" + domain, "--no-imap")[0] != 0


def test_the_mailbox_page_sets_the_protocols(admin, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "page")
    page = admin.get(f"/admin/mailboxes/{address}").get_data(as_text=True)
    assert "Protocols" in page and "The webmail needs IMAP" in page
    response = admin.post(f"/admin/mailboxes/{address}/protocols", {"imap": "on"})
    assert response.status_code == 302
    assert admin.get(f"/admin/mailboxes/{address}").status_code == 200
    assert imap_login_ok(mail_stack, "127.0.0.1", address)
    assert not pop3_login_ok(mail_stack, PROTOCOL_OFF, address, implicit=True)
    assert admin.post(f"/admin/mailboxes/{address}/protocols", {"imap": "on", "pop3": "on"}).status_code == 302
    assert pop3_login_ok(mail_stack, "127.0.0.1", address)
    with stack_db.factory() as session:
        entries = session.query(AuditEntry).filter_by(kind="mailbox", target=address).all()
        assert any('"pop3": false' in (e.after or "") for e in entries)


def test_an_admin_cannot_turn_off_the_imap_of_their_own_mailbox(admin, stack_db):
    own = admin.address
    response = admin.post(f"/admin/mailboxes/{own}/protocols", {"pop3": "on"})
    assert response.status_code == 400 and "signed in with this mailbox" in response.get_data(as_text=True)


# --- 6. Encryption required -----------------------------------------------------------


def test_passwords_need_tls_from_outside_loopback_unless_allowed(cli, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "tls")
    cfg = mail_stack
    # Before STARTTLS: refused (the server does not even ask the password database).
    assert not imap_login_ok(cfg, OUTSIDE, address)
    assert not pop3_login_ok(cfg, OUTSIDE, address)
    assert not sieve_login_ok(cfg, OUTSIDE, address)
    assert not smtp_login_ok(cfg, OUTSIDE, address)
    # After STARTTLS, and on the implicit-TLS ports: accepted.
    assert imap_login_ok(cfg, OUTSIDE, address, starttls=True)
    assert pop3_login_ok(cfg, OUTSIDE, address, starttls=True)
    assert sieve_login_ok(cfg, OUTSIDE, address, starttls=True)
    assert smtp_login_ok(cfg, OUTSIDE, address, starttls=True)
    assert imap_login_ok(cfg, OUTSIDE, address, implicit=True)
    assert pop3_login_ok(cfg, OUTSIDE, address, implicit=True)
    assert smtp_login_ok(cfg, OUTSIDE, address, implicit=True)
    # The webmail's own address, 127.0.0.1, needs no TLS for IMAP.
    assert imap_login_ok(cfg, "127.0.0.1", address)

    began = time.monotonic()
    code, done = cli("settings", "set", "allow-unencrypted", "on", "--json")
    assert code == 0 and done["changed"] == {"allow-unencrypted": True}, done
    assert "dovecot: reloaded" in done["detail"] and "postfix: reloaded" in done["detail"], done
    log.info("allow-unencrypted on: saved, Postfix and Dovecot reloaded in %.2f s", time.monotonic() - began)
    try:
        assert imap_login_ok(cfg, UNENCRYPTED, address)
        assert pop3_login_ok(cfg, UNENCRYPTED, address)
        assert sieve_login_ok(cfg, UNENCRYPTED, address)
        assert smtp_login_ok(cfg, UNENCRYPTED, address)
    finally:
        assert cli("settings", "set", "allow-unencrypted", "off")[0] == 0
    assert not imap_login_ok(cfg, OUTSIDE, address)
    assert not smtp_login_ok(cfg, OUTSIDE, address)
    assert cli("settings", "set", "allow-unencrypted", "sometimes")[0] != 0
