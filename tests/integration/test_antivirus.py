"""Antivirus (issue 14 item 2): the stack's clamd, asked by Rspamd's antivirus module,
refuses a virus during the SMTP dialogue, also from a sender an Allow rule lets through;
clean mail from that sender arrives; turning antivirus on is refused while clamd is down.

Mail comes over SMTP from another loopback address, as another mail server would send it.
"""
from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

from core.mail import rspamd
from core.services.server import settings
from core.services.spam import spam_filter
from stack import start_daemon, stop_daemon
from stack.layout import Layout
from tests.faults.support import count
from tests.helpers import command_runner, new_address, wait_for_subject

from .admin_support import server_admin
from .antivirus_support import EICAR, VIRUS_NAME, set_antivirus, unique, with_attachment
from .spam_support import OUTSIDE, restore_filter_defaults, smtp_in, wait_until

FRIEND = "friend@allowed.example"


@pytest.fixture
def allowed_sender(mail_stack, stack_db):
    """FRIEND is on the spam filter's Allow From list (Rspamd rereads the map by itself)."""
    with stack_db.transaction() as session:
        spam_filter.add_rule(session, "allow_from", FRIEND, "tests")
    spam_filter.publish_rules(mail_stack)
    yield FRIEND
    restore_filter_defaults(mail_stack, stack_db)


@pytest.fixture(autouse=True)
def antivirus_on_again(mail_stack, stack_db):
    """Antivirus is on for a new stack, and every test leaves it so."""
    yield
    set_antivirus(mail_stack, stack_db, True)


def scan(cfg: dict, raw: bytes, sender: str, to: str) -> rspamd.CheckResult:
    """What Rspamd's scanner makes of RAW from the outside address."""
    return rspamd.check(rspamd.RspamdSettings.from_config(cfg), raw, ip=OUTSIDE, sender=sender,
                        recipients=[to])


def refused(cfg: dict, sender: str, to: str, raw: bytes) -> smtplib.SMTPDataError:
    """Send RAW from outside and return Postfix's refusal (fail if it was accepted)."""
    with pytest.raises(smtplib.SMTPDataError) as caught:
        smtp_in(cfg, sender, to, raw)
    return caught.value


def test_a_virus_from_an_allowed_sender_is_refused_and_its_clean_mail_arrives(
        mail_stack, stack_db, domain, allowed_sender):
    rcpt = new_address(stack_db, domain, "avrcpt")
    infected = with_attachment(allowed_sender, rcpt, unique("Invoice"), EICAR)
    wait_until(lambda: "MAILROOM_ALLOW_FROM" in scan(mail_stack, infected, allowed_sender, rcpt).symbols,
               "Rspamd to read the Allow From map")
    verdict = scan(mail_stack, infected, allowed_sender, rcpt)
    assert verdict.action == "reject" and "CLAM_VIRUS" in verdict.symbols

    subject = unique("Invoice with a virus")
    answer = refused(mail_stack, allowed_sender, rcpt, with_attachment(allowed_sender, rcpt, subject, EICAR))
    assert answer.smtp_code == 554, answer
    assert VIRUS_NAME in answer.smtp_error and b"found the virus" in answer.smtp_error

    clean = unique("Clean invoice")
    smtp_in(mail_stack, allowed_sender, rcpt,
            with_attachment(allowed_sender, rcpt, clean, b"%PDF-1.4 an ordinary invoice\n"))
    wait_for_subject(mail_stack, rcpt, clean)
    assert count(mail_stack, rcpt, "INBOX", subject) == 0


def test_the_admin_page_switch_is_obeyed_by_the_next_message(app, mail_stack, stack_db, domain):
    admin = server_admin(app, stack_db, domain)
    rcpt = new_address(stack_db, domain, "avswitch")
    response = admin.post("/admin/server/antivirus", {})  # the checkbox left unticked: off
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert "Postfix and Rspamd reloaded" in admin.text("/admin/server")
    let_through = unique("Unscanned test file")
    smtp_in(mail_stack, "someone@outside.example", rcpt,
            with_attachment("someone@outside.example", rcpt, let_through, EICAR))
    wait_for_subject(mail_stack, rcpt, let_through)

    response = admin.post("/admin/server/antivirus", {"antivirus": "on"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = admin.text("/admin/server")
    assert 'id="f-antivirus" name="antivirus" checked' in page
    answer = refused(mail_stack, "someone@outside.example", rcpt,
                     with_attachment("someone@outside.example", rcpt, unique("Scanned"), EICAR))
    assert answer.smtp_code == 554 and VIRUS_NAME in answer.smtp_error
    with stack_db.factory() as session:
        assert settings.current(session, mail_stack).antivirus is True


def test_turning_antivirus_on_while_clamd_is_down_is_refused_and_changes_nothing(
        app, mail_stack, stack_db, domain):
    admin = server_admin(app, stack_db, domain)
    set_antivirus(mail_stack, stack_db, False)
    rendered = Path(Layout.from_config(mail_stack).rspamd_etc / "local.d" / "antivirus.conf")
    run = command_runner(app, "settings")
    assert stop_daemon(mail_stack, "clamd")
    try:
        code, output = run("set", "antivirus", "on", "--json")
        assert code != 0 and "Antivirus stays off" in output and "clamd" in output, output
        response = admin.post("/admin/server/antivirus", {"antivirus": "on"})
        assert response.status_code == 400
        assert "Antivirus stays off" in response.get_data(as_text=True)
        assert run("show", "--json")[1]["antivirus"] is False
        assert "enabled = false;" in rendered.read_text()
    finally:
        start_daemon(mail_stack, "clamd")
    assert run("set", "antivirus", "on", "--json")[1]["changed"] == {"antivirus": True}
    assert "enabled = true;" in rendered.read_text()


def test_stack_status_shows_clamd(app, mail_stack):
    code, shown = command_runner(app, "stack")("status", "--json")
    assert code == 0
    clamd = shown["services"]["clamd"]
    assert clamd["port"] == int(mail_stack["CLAMD_PORT"]) and clamd["answers"] and clamd["pid"]
