"""Two-factor sign-in and app passwords (issue 20 item 2), obeyed by the running Dovecot
and Postfix: once it is on, IMAP, POP3, ManageSieve and SMTP AUTH refuse the main
password and take an app password; revoking one refuses it at the next login; its last
use (time, client address) is recorded by the worker; the web app alone, with its key,
may still check the main password over IMAP, and a web session's own credential is
taken from the web app's address only.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest

from core.mail import imap
from core.mail.errors import AuthenticationFailed
from core.models import AppPassword
from core.services.access import app_passwords, twofactor
from tests.helpers import PASSWORD, fresh_client, new_address
from tests.integration.admin_support import wait_until

from .server_support import defaults  # noqa: F401  (fixture: settings back to their defaults)
from .test_dovecot_settings import imap_login_ok, pop3_login_ok, sieve_login_ok, smtp_login_ok
from .test_master_user import cli, master  # noqa: F401  (fixtures)

# This file's own client address (Dovecot's penalty and the worker's limit are per address).
PHONE = "127.0.0.71"


def turn_on(stack_db, address: str) -> str:
    """Two-factor sign-in on for ADDRESS through the services; return its secret."""
    with stack_db.transaction() as session:
        secret = twofactor.begin(session, address).secret
    with stack_db.transaction() as session:
        twofactor.confirm(session, address, pyotp.TOTP(secret).now())
    return secret


def every_protocol(cfg: dict, address: str, password: str) -> dict[str, bool]:
    """Whether IMAP, POP3, ManageSieve and SMTP AUTH take PASSWORD (after STARTTLS), each
    tried at once from a client address of its own."""
    checks = {"imap": imap_login_ok, "pop3": pop3_login_ok, "sieve": sieve_login_ok, "smtp": smtp_login_ok}
    with ThreadPoolExecutor(len(checks)) as pool:
        taken = {name: pool.submit(check, cfg, fresh_client(), address, starttls=True, password=password)
                 for name, check in checks.items()}
        return {name: done.result() for name, done in taken.items()}


ALL = {"imap": True, "pop3": True, "sieve": True, "smtp": True}
NONE = {"imap": False, "pop3": False, "sieve": False, "smtp": False}


def test_app_password_replaces_the_main_password_once_two_factor_is_on(mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "tfa")
    with stack_db.transaction() as session:
        phone = app_passwords.create(session, address, "Phone")
    # Before: both work (an app password is usable without two-factor sign-in too).
    assert every_protocol(mail_stack, address, PASSWORD) == ALL
    assert every_protocol(mail_stack, address, phone) == ALL

    turn_on(stack_db, address)
    assert every_protocol(mail_stack, address, phone) == ALL
    assert every_protocol(mail_stack, address, PASSWORD) == NONE
    # Without the web app's key, not even the web app's own address gets in with it.
    assert not imap_login_ok(mail_stack, "127.0.0.1", address, password=PASSWORD)
    # The web app (its key in IMAP ID) checks the main password before asking the code.
    web = imap.ImapSettings.from_config(mail_stack)
    assert web.web_key
    imap.close(imap.login(web, address, PASSWORD, "192.0.2.7"))
    # A key that is not the app's is refused.
    forged = imap.ImapSettings(web.host, web.port, web.tls, web.ca_file, web.timeout, "forged-key-" * 4)
    with pytest.raises(AuthenticationFailed):
        imap.login(forged, address, PASSWORD, "192.0.2.7")


def test_last_use_is_recorded_and_revoking_refuses_at_once(mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "tfarev")
    turn_on(stack_db, address)
    with stack_db.transaction() as session:
        laptop = app_passwords.create(session, address, "Laptop")
    with stack_db.transaction() as session:
        kept = app_passwords.create(session, address, "Tablet")
    assert imap_login_ok(mail_stack, PHONE, address, starttls=True, password=laptop)

    def used():
        with stack_db.transaction() as session:
            row = next(r for r in app_passwords.listed(session, address) if r.name == "Laptop")
            return (row.last_used_ip, row.last_used_at) if row.last_used_at else None
    assert wait_until(used)
    assert used()[0] == PHONE

    with stack_db.transaction() as session:
        row = next(r for r in app_passwords.listed(session, address) if r.name == "Laptop")
        assert app_passwords.revoke(session, address, row.id) == "Laptop"
    assert every_protocol(mail_stack, address, laptop) == NONE
    assert imap_login_ok(mail_stack, PHONE, address, starttls=True, password=kept)


def test_web_session_credential_is_taken_from_the_web_app_only(mail_stack, stack_db, domain, app):
    from core.models import WebSession

    address = new_address(stack_db, domain, "tfaweb")
    turn_on(stack_db, address)
    with stack_db.transaction() as session:
        session.add(WebSession(id=f"test-{time.time_ns()}", address=address, sealed_credential=b"x"))
        session.flush()
        web_session = session.query(WebSession).filter_by(address=address).one()
        token = app_passwords.issue_web_credential(session, address, web_session.id)
        session_id = web_session.id
    assert imap_login_ok(mail_stack, "127.0.0.1", address, password=token)
    assert smtp_login_ok(mail_stack, "127.0.0.1", address, starttls=True, password=token)
    assert sieve_login_ok(mail_stack, "127.0.0.1", address, password=token)
    assert every_protocol(mail_stack, address, token) == NONE
    # Not listed among the person's app passwords, and gone with its session.
    with stack_db.transaction() as session:
        assert app_passwords.listed(session, address) == []
        session.delete(session.get(WebSession, session_id))
    with stack_db.transaction() as session:
        assert session.query(AppPassword).filter_by(address=address).count() == 0


def test_the_master_user_still_opens_a_mailbox_with_two_factor_on(cli, master, defaults, mail_stack,
                                                                  stack_db, domain):
    from .test_master_user import imap_master

    address = new_address(stack_db, domain, "tfamaster")
    turn_on(stack_db, address)
    code, done = cli("settings", "set", "master-user", "on", "--json")
    assert code == 0, done
    imap_master(mail_stack, address).logout()


def test_the_command_line_requires_it_per_domain_and_resets_a_lost_phone(cli, stack_db):
    from core.services.directory import lookup

    name = f"tfacli{time.time_ns() % 10**8}.test"
    with stack_db.transaction() as session:
        lookup.add_domain(session, name)
    address = new_address(stack_db, name, "cli")
    turn_on(stack_db, address)
    code, done = cli("domain", "set", name, "--require-two-factor", "--json")
    assert code == 0 and done["require_two_factor"] is True, done
    code, done = cli("mailbox", "set", address, "--reset-two-factor", "--json")
    assert code == 0, done
    with stack_db.transaction() as session:
        assert twofactor.required(session, address)  # off now, and the domain asks for it
    code, output = cli("mailbox", "set", address, "--reset-two-factor")
    assert code != 0 and "does not use two-factor sign-in" in output, output
    assert cli("domain", "set", name, "--no-require-two-factor", "--json")[1]["require_two_factor"] is False
