"""clamd, or Rspamd itself, stopped while antivirus is on: mail is deferred (4xx), never
delivered unscanned, the dashboard says why; once the daemon is back, mail flows again."""
from __future__ import annotations

import smtplib

import pytest

from tests.helpers import command_runner, new_address, new_server_admin, signed_in_client, wait_for_subject
from tests.integration.antivirus_support import unique, with_attachment
from tests.integration.spam_support import smtp_in

from .support import count, stopped

SENDER = "partner@outside.example"


def deferred(cfg: dict, to: str, subject: str) -> smtplib.SMTPResponseException:
    """Send a clean message from outside and return Postfix's refusal (after DATA, or at
    MAIL FROM when Postfix cannot reach the milter at all)."""
    with pytest.raises(smtplib.SMTPResponseException) as caught:
        smtp_in(cfg, SENDER, to, with_attachment(SENDER, to, subject, b"%PDF-1.4 quarterly figures\n"))
    return caught.value


def test_clamd_down_defers_mail_and_the_dashboard_says_why(app, mail_stack, stack_db, domain):
    rcpt = new_address(stack_db, domain, "avfault")
    admin = signed_in_client(app, new_server_admin(stack_db, domain, "avadmin"), ip="127.0.0.51")
    waiting = unique("Quarterly figures")
    with stopped(mail_stack, "clamd"):
        answer = deferred(mail_stack, rcpt, waiting)
        assert 400 <= answer.smtp_code < 500, answer
        assert b"virus scanner did not answer" in answer.smtp_error
        page = admin.get("/admin/").get_data(as_text=True)
        assert "The virus scanner is down." in page and "clamd" in page and "unreachable" in page
        code, shown = command_runner(app, "stack")("status", "--json")
        assert code == 0 and shown["services"]["clamd"]["answers"] is False
        assert count(mail_stack, rcpt, "INBOX", waiting) == 0
    assert "The virus scanner is down." not in admin.get("/admin/").get_data(as_text=True)
    again = unique("Quarterly figures again")
    smtp_in(mail_stack, SENDER, rcpt, with_attachment(SENDER, rcpt, again, b"%PDF-1.4 quarterly figures\n"))
    wait_for_subject(mail_stack, rcpt, again)
    assert count(mail_stack, rcpt, "INBOX", waiting) == 0  # refused, so never queued here


def test_rspamd_down_with_antivirus_on_defers_mail(mail_stack, stack_db, domain):
    rcpt = new_address(stack_db, domain, "avmilter")
    waiting = unique("Unscanned while Rspamd is down")
    with stopped(mail_stack, "rspamd"):
        answer = deferred(mail_stack, rcpt, waiting)
        assert 400 <= answer.smtp_code < 500, answer
        assert count(mail_stack, rcpt, "INBOX", waiting) == 0
    back = unique("Scanned again")
    smtp_in(mail_stack, SENDER, rcpt, with_attachment(SENDER, rcpt, back, b"%PDF-1.4 quarterly figures\n"))
    wait_for_subject(mail_stack, rcpt, back)
