"""Send later survives the worker: a message that fell due while it was stopped goes out
when it is back, because the schedule is in the database, not in the worker's memory."""
from __future__ import annotations

import time

from tests.faults.support import count, stopped
from tests.helpers import wait_for_subject
from tests.integration.scheduled_support import pair, rows_of, schedule  # noqa: F401


def test_a_message_due_while_the_worker_was_stopped_goes_out_after_its_restart(
        app, mail_stack, stack_db, pair):
    sender, rcpt = pair
    _, subject, response = schedule(app, sender, rcpt, 4)
    assert response.status_code == 302
    with stopped(mail_stack, "worker"):
        time.sleep(7)  # its time passes with no worker (and Dovecot refuses logins meanwhile)
        [row] = rows_of(stack_db, sender)
        assert row.state == "queued", "nothing may have taken it while the worker was down"
    # A fresh worker process: it reads the schedule from the database and sends.
    wait_for_subject(mail_stack, rcpt, subject, timeout=30)
    assert wait_for_subject(mail_stack, sender, subject, folder="Sent", timeout=10)
    assert rows_of(stack_db, sender) == []
    assert count(mail_stack, rcpt, "INBOX", subject) == 1


def test_a_message_the_worker_was_sending_when_it_stopped_is_shown_failed_not_sent_twice(
        app, mail_stack, stack_db, pair):
    from sqlalchemy import update

    from core.models.scheduled import SENDING, ScheduledMessage

    sender, rcpt = pair
    _, subject, _ = schedule(app, sender, rcpt, 120)
    with stopped(mail_stack, "worker"):
        # As if the old worker had taken it and died before the mail server answered.
        with stack_db.transaction() as session:
            session.execute(update(ScheduledMessage).where(ScheduledMessage.address == sender)
                            .values(state=SENDING))
    time.sleep(2)
    [row] = rows_of(stack_db, sender)
    assert row.state == "failed" and "may have gone out" in row.error
    assert count(mail_stack, rcpt, "INBOX", subject) == 0
