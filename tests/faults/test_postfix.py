"""Postfix stopped while the webmail sends: the draft is kept, and one send later gives one copy."""
from __future__ import annotations

from tests.helpers import new_address, signed_in_client, wait_for_subject
from tests.integration.portal_support import settle, unique
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
