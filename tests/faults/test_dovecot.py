"""Dovecot restarted under a signed-in reader."""
from __future__ import annotations

from tests.helpers import (
    deliver_raw, message, new_address, signed_in_client, uid_of, wait_for_subject,
)
from tests.integration.portal_support import unique

from .support import count, imap_sessions, stopped


def test_dovecot_restart_while_reading_reconnects_and_the_pool_recovers(app, mail_stack, stack_db,
                                                                       domain):
    person = new_address(stack_db, domain, "reader", spam_to_junk=False)
    subjects = [unique("before-restart") for _ in range(3)]
    for subject in subjects:
        deliver_raw(mail_stack, person, bytes(message("ann@outside.test", person, subject)))
    for subject in subjects:
        wait_for_subject(mail_stack, person, subject)
    uid = uid_of(mail_stack, person, subjects[-1])
    web = signed_in_client(app, person)
    assert web.get("/mail?folder=INBOX").status_code == 200  # the pool now holds a session
    assert imap_sessions(mail_stack, person) == 1

    with stopped(mail_stack, "dovecot"):  # a restart: every session, the pooled one too, ends
        down = web.get(f"/mail/{uid}?folder=INBOX")
        assert down.status_code == 503 and "IMAP server (Dovecot)" in down.get_data(as_text=True)

    opened = web.get(f"/mail/{uid}?folder=INBOX")
    assert opened.status_code == 200, opened.get_data(as_text=True)[-2000:]
    assert subjects[-1] in opened.get_data(as_text=True)
    listed = web.get("/mail?folder=INBOX")
    assert listed.status_code == 200
    assert all(subject in listed.get_data(as_text=True) for subject in subjects)
    # The dead session was dropped and one new one serves both requests.
    assert imap_sessions(mail_stack, person) == 1
    assert count(mail_stack, person, "INBOX") == 3
