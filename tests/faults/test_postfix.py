"""Postfix stopped while the webmail or the worker sends: the draft or the scheduled message is
kept, and one send later gives one copy."""
from __future__ import annotations

import time

from tests.helpers import new_address, signed_in_client, wait_for_subject
from tests.integration.portal_support import settle, unique
from tests.integration.scheduled_support import pair, rows_of, schedule  # noqa: F401 (pair: a fixture)
from tests.integration.test_compose import field_value, hidden_fields, open_form, post

from .support import count, stopped


def test_postfix_down_while_sending_keeps_the_draft_then_one_send_gives_one_copy(
        app, mail_stack, stack_db, domain):
    sender = new_address(stack_db, domain, "sender", spam_to_junk=False)
    rcpt = new_address(stack_db, domain, "rcpt", spam_to_junk=False)
    web = signed_in_client(app, sender)
    _, fields = open_form(web)
    subject, body = unique("postfix-down"), "Words that must survive an outage."

    with stopped(mail_stack, "postfix"):
        failed = post(web, "/compose/send", fields, **{"from": sender}, to=rcpt, subject=subject,
                      body=body)
        page = failed.get_data(as_text=True)
        assert failed.status_code == 502, page[-2000:]
        assert "The SMTP server (Postfix) does not answer" in page and "saved in Drafts" in page
        assert field_value(page, "c-to") == rcpt and field_value(page, "c-subject") == subject
        assert body in page
        assert count(mail_stack, sender, "Drafts", subject) == 1

    kept = hidden_fields(page)  # the form as shown again, now naming its saved draft
    sent = post(web, "/compose/send", kept, **{"from": sender}, to=rcpt, subject=subject, body=body)
    assert sent.status_code == 302, sent.get_data(as_text=True)[-2000:]
    wait_for_subject(mail_stack, rcpt, subject)
    settle(mail_stack, rcpt)  # a later message has arrived: no second copy is on its way
    assert count(mail_stack, rcpt, "INBOX", subject) == 1
    assert count(mail_stack, sender, "Sent", subject) == 1
    assert count(mail_stack, sender, "Drafts", subject) == 0


def test_a_scheduled_message_due_while_postfix_is_down_waits_says_why_and_goes_out_later(
        app, mail_stack, stack_db, pair):
    from sqlalchemy import update

    from core.models.scheduled import ScheduledMessage
    from core.services.mail.scheduled import NOT_ANSWERED, utcnow

    sender, rcpt = pair
    web, subject, response = schedule(app, sender, rcpt, 2)
    assert response.status_code == 302
    with stopped(mail_stack, "postfix"):
        deadline = time.monotonic() + 30
        while not (rows := rows_of(stack_db, sender))[0].error and time.monotonic() < deadline:
            time.sleep(0.5)
        [row] = rows
        assert (row.state, row.error) == ("queued", NOT_ANSWERED)
        page = web.get("/scheduled", headers={"Accept-Language": "it"}).get_data(as_text=True)
        assert "Non ancora inviato: il server di posta (Postfix) non ha risposto." in page, page[page.find("<main"):]
    # Its next try is a minute later; bring it forward rather than wait.
    with stack_db.transaction() as session:
        session.execute(update(ScheduledMessage).where(ScheduledMessage.address == sender)
                        .values(send_at=utcnow()))
    wait_for_subject(mail_stack, rcpt, subject, timeout=30)
    settle(mail_stack, rcpt)
    assert count(mail_stack, rcpt, "INBOX", subject) == 1
    assert rows_of(stack_db, sender) == []
