"""Directory users from a real slapd: Dovecot signs them in with an LDAP bind, Postfix
finds their addresses and extra addresses with ldap: tables, beside the database's
mailboxes (issue 19). Failed logins come after the web sign-ins (Dovecot's auth penalty
would slow this client's next ones); the unreachable-directory case runs last: it stops slapd."""
from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pyotp
import pytest

from core.db import Database
from core.mail import imap, smtp
from core.mail.carddav import MKCOL_BODY
from core.mail.errors import AuthenticationFailed, SmtpError
from core.services.access import app_passwords, twofactor
from stack import daemons, slapd
from stack.layout import Layout
from stack.status import status
from tests.conftest import free_ports
from tests.helpers import imap_login, message, wait_for_subject
from tests.integration.admin_support import rcpt, send_inbound, smtp_from, wait_until
from tests.integration.contacts_support import Dav
from tests.integration.process_support import ROOT, app_environment, served_app, signed_in_opener
from tests.integration.test_contacts import MARCO
from tests.integration.test_two_factor import ALL, NONE, every_protocol
from tests.integration.ldap_support import (DOMAIN, add_person, admin, entry_uuid, ldap_stack,  # noqa: F401
                                            new_local_mailbox, seed_password)

ADA, GRACE, LINUS = (f"{name}@{DOMAIN}" for name in ("ada", "grace", "linus"))


def subject() -> str:
    return f"ldap-{uuid.uuid4().hex[:10]}"


def test_directory_user_signs_in_over_imap_with_their_directory_password(ldap_stack):
    client = imap_login(ldap_stack, ADA, seed_password(ldap_stack))
    try:
        client.select_folder("INBOX")
        assert client.capabilities()  # a working session as ada
    finally:
        client.logout()


def test_mail_to_a_directory_user_and_their_alias_attribute_reaches_their_inbox(ldap_stack):
    direct, via_alias = subject(), subject()
    send_inbound(ldap_stack, ADA, direct)
    send_inbound(ldap_stack, f"countess@{DOMAIN}", via_alias)  # ada's mailLocalAddress
    for wanted in (direct, via_alias):
        assert wait_for_subject(ldap_stack, ADA, wanted, password=seed_password(ldap_stack))


def test_mail_folder_is_named_by_the_stable_id_not_the_address(ldap_stack):
    wanted = subject()
    send_inbound(ldap_stack, GRACE, wanted)
    wait_for_subject(ldap_stack, GRACE, wanted, password=seed_password(ldap_stack))
    home = Path(ldap_stack["STACK_DIR"]) / "mail" / "directory" / entry_uuid(ldap_stack, "grace")
    assert any((home / "Maildir").rglob("*")), home


def test_directory_user_submits_as_themselves_and_as_their_alias(ldap_stack):
    password, first, second = seed_password(ldap_stack), subject(), subject()
    settings = smtp.SmtpSettings.submission(ldap_stack)
    smtp.send(settings, message(ADA, GRACE, first), login=(ADA, password))
    smtp.send(settings, message(f"countess@{DOMAIN}", GRACE, second), login=(ADA, password))
    for wanted in (first, second):
        assert wait_for_subject(ldap_stack, GRACE, wanted, password=password)
    with pytest.raises(SmtpError, match="not owned by user"):  # not her address
        smtp.send(settings, message(GRACE, ADA, subject()), login=(ADA, password))


def test_local_mailboxes_keep_working_beside_the_directory(ldap_stack):
    address, wanted = new_local_mailbox(ldap_stack, "local"), subject()
    send_inbound(ldap_stack, address, wanted)
    assert wait_for_subject(ldap_stack, address, wanted)


def test_webmail_signs_a_directory_user_in_and_the_dashboard_counts_the_directory(ldap_stack):
    port = free_ports(1)[0]
    admin = new_local_mailbox(ldap_stack, "admin")
    # Ada's phone syncs her address book with her directory password (Radicale asks Dovecot).
    phone = Dav(ldap_stack, ADA, seed_password(ldap_stack), "127.0.0.86")
    assert phone.request("MKCOL", phone.book, MKCOL_BODY)[0] == 201
    assert phone.request("PUT", phone.book + "marco.vcf", MARCO, Content_Type="text/vcard")[0] == 201
    with served_app(ldap_stack, port):
        base = f"http://127.0.0.1:{port}"
        ada = signed_in_opener(base, ADA, seed_password(ldap_stack))  # the webmail signs in over IMAP
        book = ada.open(base + "/contacts").read().decode()
        page = signed_in_opener(base, admin).open(base + "/admin/").read().decode()
    assert "Marco Rossi" in book and "marco@partner.example" in book
    assert "<dt>Directory users</dt><dd>3</dd>" in page and "<dt>Disabled in the directory</dt><dd>1</dd>" in page
    assert "The user directory has a problem" not in page


def test_dashboard_says_when_the_directory_refuses_the_bind(ldap_stack):
    port = free_ports(1)[0]
    admin = new_local_mailbox(ldap_stack, "admin")
    with served_app(ldap_stack, port, LDAP_BIND_PASSWORD="wrong-password-for-the-test"):
        base = f"http://127.0.0.1:{port}"
        page = signed_in_opener(base, admin).open(base + "/admin/").read().decode()
    assert "The user directory has a problem" in page and "refused the bind" in page


def test_disabled_directory_user_cannot_sign_in_but_still_receives_mail(ldap_stack):
    wanted = subject()
    send_inbound(ldap_stack, LINUS, wanted)
    new = Path(ldap_stack["STACK_DIR"]) / "mail" / "directory" / entry_uuid(ldap_stack, "linus") / "Maildir" / "new"
    assert wait_until(lambda: any(wanted.encode() in f.read_bytes() for f in new.glob("*")) if new.is_dir() else False)
    with pytest.raises(AuthenticationFailed):
        imap_login(ldap_stack, LINUS, seed_password(ldap_stack))


def test_wrong_directory_password_is_refused(ldap_stack):
    with pytest.raises(AuthenticationFailed):
        imap_login(ldap_stack, GRACE, "not-" + seed_password(ldap_stack))


def test_person_removed_from_the_directory_loses_access_and_a_successor_starts_empty(ldap_stack):
    uid, password, wanted = f"temp{uuid.uuid4().hex[:6]}", "first-Pass-123456", subject()
    address = f"{uid}@{DOMAIN}"
    dn = add_person(ldap_stack, uid, password)
    send_inbound(ldap_stack, address, wanted)
    wait_for_subject(ldap_stack, address, wanted, password=password)
    with admin(ldap_stack) as conn:
        assert conn.delete(dn)
    with pytest.raises(AuthenticationFailed):  # at once: Dovecot caches no directory answer
        imap_login(ldap_stack, address, password)
    assert rcpt(ldap_stack, address, "127.0.0.1")[0] == 550  # unknown now: never delivered elsewhere
    add_person(ldap_stack, uid, password)  # a new person given the same address
    try:
        client = imap_login(ldap_stack, address, password)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0  # not the removed person's mail
        client.logout()
    finally:
        with admin(ldap_stack) as conn:  # the seeded tree again, for the counts below
            conn.delete(dn)


def test_two_factor_refuses_a_directory_users_own_password_and_takes_app_passwords(ldap_stack):
    """Once a directory user turns two-factor sign-in on, IMAP, POP3, ManageSieve and SMTP
    AUTH refuse their directory password and take an app password; the web app, with its
    key, still checks the directory password before asking the code."""
    uid, password = f"tfa{uuid.uuid4().hex[:6]}", "first-Pass-123456"
    address, dn = f"{uid}@{DOMAIN}", add_person(ldap_stack, uid, password)
    database = Database()
    database.configure(ldap_stack["DATABASE_URL"])
    try:
        with database.transaction() as session:
            phone = app_passwords.create(session, address, "Phone")
        assert every_protocol(ldap_stack, address, password) == ALL
        with database.transaction() as session:
            secret = twofactor.begin(session, address).secret
        with database.transaction() as session:
            twofactor.confirm(session, address, pyotp.TOTP(secret).now())
        assert every_protocol(ldap_stack, address, phone) == ALL
        assert every_protocol(ldap_stack, address, password) == NONE
        imap.close(imap.login(imap.ImapSettings.from_config(ldap_stack), address, password, "192.0.2.7"))
    finally:
        database.engine.dispose()
        with admin(ldap_stack) as conn:  # the seeded tree again, for the counts below
            conn.delete(dn)


def directory_test(cfg: dict, **settings: str) -> tuple[int, str]:
    """`flask --app app directory test --json` in its own process with CFG and SETTINGS."""
    env = app_environment(cfg, 0, **settings)
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", "directory", "test", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, done.stdout + done.stderr


def test_directory_test_binds_counts_and_shows_users_as_the_daemons_see_them(ldap_stack):
    code, output = directory_test(ldap_stack)
    assert code == 0, output
    report = json.loads(output)
    assert (report["ok"], report["users"], report["disabled"], report["groups"]) == (True, 3, 1, 2)
    ada = next(u for u in report["samples"] if u["address"] == ADA)
    assert ada["aliases"] == [f"countess@{DOMAIN}"] and ada["can_sign_in"]
    assert ada["id"] == entry_uuid(ldap_stack, "ada")  # her mail folder's name


@pytest.mark.parametrize(("settings", "problem"), [
    ({"LDAP_BIND_PASSWORD": "wrong-password-for-the-test"}, "refused the bind"),
    ({"LDAP_USER_FILTER": "(objectClass=posixAccount)"}, "no user under"),
    ({"LDAP_USER_FILTER": "objectClass=person"}, "must be one filter in parentheses"),
])
def test_directory_test_and_stack_status_name_what_is_wrong(ldap_stack, settings, problem):
    code, output = directory_test(ldap_stack, **settings)
    assert code == 1 and json.loads(output)["problem"].count(problem) == 1, output
    shown = next(s for s in status({**ldap_stack, **settings}) if s.name == "directory")
    assert not shown.answers and problem in shown.detail


def test_unreachable_directory_defers_mail_for_its_users_and_not_for_local_mailboxes(ldap_stack):
    layout = Layout.from_config(ldap_stack)
    address = new_local_mailbox(ldap_stack, "kept")
    assert daemons.stop(layout, slapd.NAME)
    try:
        shown = next(s for s in status(ldap_stack) if s.name == "directory")
        assert not shown.answers and "cannot be reached" in shown.detail
        with smtp_from(ldap_stack) as conn:
            conn.ehlo()
            conn.mail("someone@outside.test")
            code, text = conn.rcpt(ADA)
            assert 400 <= code < 500, (code, text)  # deferred, never bounced
            assert conn.rcpt(address)[0] == 250
        wanted = subject()
        send_inbound(ldap_stack, address, wanted)
        assert wait_for_subject(ldap_stack, address, wanted)
    finally:
        slapd.ensure_local(ldap_stack, layout)
    queued = subject()
    send_inbound(ldap_stack, ADA, queued)  # the directory is back: delivered again
    assert wait_for_subject(ldap_stack, ADA, queued, password=seed_password(ldap_stack))
