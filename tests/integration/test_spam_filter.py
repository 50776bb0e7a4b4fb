"""The admin's spam filter settings, through the admin page, obeyed by the running stack.

Mail arrives over SMTP from another loopback address (an outside server) and passes
Rspamd's milter; what happens to it is read back in the SMTP answer and the mailbox.
"""
from __future__ import annotations

import logging
import smtplib
import uuid
from email.utils import formatdate

import pytest

from core.mail import rspamd
from core.models import SpamRule
from tests.helpers import csrf_token, new_address, new_server_admin, signed_in_client, wait_for_subject

from .spam_support import OUTSIDE, restore_filter_defaults, settings, smtp_in

log = logging.getLogger(__name__)


def spammy(sender: str, to: str, subject: str) -> bytes:
    """A message Rspamd scores at about 6 from the loopback: no Date, no Message-ID,
    an all-capitals subject."""
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\n"
            "You have won! Click here to claim your free prize money now, limited offer!\r\n").encode()


def plain(sender: str, to: str, subject: str) -> bytes:
    """An ordinary message that no threshold would touch."""
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject.capitalize()}\r\n"
            f"Date: {formatdate()}\r\nMessage-ID: <{uuid.uuid4().hex}@outside.example>\r\n"
            "\r\nThe minutes of Tuesday's meeting are attached, see you next week.\r\n").encode()


def subject(label: str) -> str:
    """A unique all-capitals subject."""
    return f"WINNER CLAIM YOUR PRIZE {label} {uuid.uuid4().hex[:8].upper()}"


@pytest.fixture
def admin(app, stack_db, domain):
    """A Flask test client signed in as a server admin."""
    return signed_in_client(app, new_server_admin(stack_db, domain, "spamadmin"), ip="127.0.0.41")


@pytest.fixture
def restore_filter(mail_stack, stack_db):
    """Put the defaults and an empty rule list back: the session's stack is shared."""
    yield
    restore_filter_defaults(mail_stack, stack_db)


def post(client, url: str, **form) -> None:
    """Submit one of the admin page's forms; it redirects back to the page when done."""
    token = csrf_token(client.get("/admin/spam").get_data(as_text=True))
    response = client.post(url, data={**form, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


def refused(cfg: dict, sender: str, to: str, raw: bytes) -> smtplib.SMTPDataError:
    """Send RAW and return the SMTP refusal (fail if the message was accepted)."""
    with pytest.raises(smtplib.SMTPDataError) as caught:
        smtp_in(cfg, sender, to, raw)
    return caught.value


def test_block_from_rejects_at_smtp_time_and_allow_from_wins(
        mail_stack, stack_db, domain, admin, restore_filter):
    rcpt = new_address(stack_db, domain, "blockee")
    post(admin, "/admin/spam/rules", kind="block_from", value="@Blocked.Example")
    answer = refused(mail_stack, "anyone@blocked.example", rcpt,
                     plain("anyone@blocked.example", rcpt, "hello"))
    assert answer.smtp_code == 554 and b"blocked by this server's spam filter" in answer.smtp_error

    post(admin, "/admin/spam/rules", kind="allow_from", value="friend@blocked.example")
    allowed = subject("FRIEND")
    smtp_in(mail_stack, "friend@blocked.example", rcpt, spammy("friend@blocked.example", rcpt, allowed))
    assert b"X-Spam: Yes" not in wait_for_subject(mail_stack, rcpt, allowed)
    refused(mail_stack, "other@blocked.example", rcpt, plain("other@blocked.example", rcpt, "again"))

    with stack_db.transaction() as session:
        block = session.query(SpamRule).filter_by(kind="block_from").one().id
    post(admin, f"/admin/spam/rules/{block}/delete")
    unblocked = subject("UNBLOCKED")
    smtp_in(mail_stack, "other@blocked.example", rcpt, plain("other@blocked.example", rcpt, unblocked))
    wait_for_subject(mail_stack, rcpt, unblocked)


def test_a_threshold_change_changes_the_action_on_the_next_message(
        mail_stack, stack_db, domain, admin, restore_filter):
    rcpt = new_address(stack_db, domain, "scored")
    sender = "promo@offers.example"
    score = rspamd.check(settings(mail_stack), spammy(sender, rcpt, subject("PROBE")), ip=OUTSIDE,
                         sender=sender, recipients=[rcpt]).score
    log.info("the test message scores %.2f", score)
    assert score > 4.5, "the thresholds below assume a score of about 6"

    post(admin, "/admin/spam/settings", greylist="", spam="20", reject="30", subject_prefix="")
    calm = subject("CALM")
    smtp_in(mail_stack, sender, rcpt, spammy(sender, rcpt, calm))
    assert b"X-Spam: Yes" not in wait_for_subject(mail_stack, rcpt, calm, "INBOX")

    post(admin, "/admin/spam/settings", greylist="", spam="3", reject="30", subject_prefix="[SPAM]")
    marked = subject("MARKED")
    smtp_in(mail_stack, sender, rcpt, spammy(sender, rcpt, marked))
    arrived = wait_for_subject(mail_stack, rcpt, marked, "Junk")  # "spam to Junk" is on by default
    assert b"X-Spam: Yes" in arrived and f"Subject: [SPAM] {marked}".encode() in arrived

    post(admin, "/admin/spam/settings", greylist="", spam="3", reject="4", subject_prefix="")
    answer = refused(mail_stack, sender, rcpt, spammy(sender, rcpt, subject("REJECTED")))
    assert answer.smtp_code == 554

    # An Allow From rule lets through what the reject threshold would refuse.
    post(admin, "/admin/spam/rules", kind="allow_from", value=sender)
    let_through = subject("ALLOWED")
    smtp_in(mail_stack, sender, rcpt, spammy(sender, rcpt, let_through))
    assert b"X-Spam: Yes" not in wait_for_subject(mail_stack, rcpt, let_through, "INBOX")

    from core.models.audit import AuditEntry  # every admin change is in the audit log
    with stack_db.factory() as session:
        targets = {e.target for e in session.query(AuditEntry).filter_by(kind="spam")}
    assert "thresholds" in targets and f"Allow From: {sender}" in targets


def test_bad_thresholds_are_refused_and_keep_what_was_typed(admin, restore_filter):
    token = csrf_token(admin.get("/admin/spam").get_data(as_text=True))
    response = admin.post("/admin/spam/settings", data={
        "greylist": "8", "spam": "6", "reject": "15", "subject_prefix": "[S]", "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "must be below the spam threshold" in page
    assert 'value="8"' in page and 'value="[S]"' in page
