"""Rspamd stopped while people train; Redis (Rspamd's Bayes store) stopped while mail arrives."""
from __future__ import annotations

import json
import logging
import random
import time

from core.services.spam import learning
from tests.helpers import (
    deliver_raw, message, new_address, signed_in_client, submit, wait_for_subject,
)
from tests.integration.portal_support import unique
from tests.integration.spam_support import (
    SPAM_WORDS, append, counts, generated, move_all, outcomes, plain_imap, spool, wait_until,
)

from .support import count, stopped

log = logging.getLogger(__name__)
MOVES = 5


def spam_status(app) -> dict:
    """What `flask spam status --json` prints."""
    return json.loads(app.test_cli_runner().invoke(args=["spam", "status", "--json"]).output)


def test_rspamd_down_while_training_the_queue_holds_then_drains_with_exact_counts(
        app, mail_stack, stack_db, domain):
    user = new_address(stack_db, domain, "patient")
    rng = random.Random(5)
    client = plain_imap(mail_stack, user)  # any IMAP client: Dovecot's IMAPSieve queues the moves
    try:
        for _ in range(MOVES):
            append(client, "INBOX", generated(SPAM_WORDS, user, rng))
        wait_until(lambda: spool(mail_stack).length() == 0, "earlier tests' moves to be learned")
        before = counts(mail_stack)
        with stopped(mail_stack, "rspamd"):
            started = time.monotonic()
            move_all(client, "INBOX", "Junk")
            log.info("MOVE of %d messages with Rspamd down took %.3f s", MOVES,
                     time.monotonic() - started)
            assert count(mail_stack, user, "Junk") == MOVES
            assert count(mail_stack, user, "INBOX") == 0
            wait_until(lambda: spool(mail_stack).read_state().failures >= 2, "failed attempts")
            queued = learning.status(mail_stack)
            assert queued.queue.length == MOVES and queued.queue.failing
            assert "Rspamd" in queued.queue.last_error
            printed = spam_status(app)
            assert printed["queue"]["length"] == MOVES and printed["queue"]["last_error"]
            assert counts(mail_stack) == before  # nothing learned, nothing dropped
    finally:
        client.logout()
    back = time.monotonic()
    wait_until(lambda: spool(mail_stack).length() == 0, "the queue to drain", timeout=60)
    log.info("queue of %d drained %.2f s after Rspamd answered again", MOVES,
             time.monotonic() - back)
    assert counts(mail_stack) == (before[0] + MOVES, before[1])
    assert outcomes(mail_stack, user) == ["learned"] * MOVES
    assert not learning.status(mail_stack).queue.failing
    assert count(mail_stack, user, "Junk") == MOVES


def test_redis_down_mail_still_flows_and_bayes_is_shown_unavailable(app, mail_stack, stack_db,
                                                                   domain):
    sender = new_address(stack_db, domain, "sender", spam_to_junk=False)
    rcpt = new_address(stack_db, domain, "rcpt", spam_to_junk=False)
    web = signed_in_client(app, rcpt)
    inbound, submitted = unique("redis-down-in"), unique("redis-down-sub")

    with stopped(mail_stack, "redis"):
        deliver_raw(mail_stack, rcpt, bytes(message("ann@outside.test", rcpt, inbound)))
        submit(mail_stack, sender, rcpt, submitted)
        for subject in (inbound, submitted):
            wait_for_subject(mail_stack, rcpt, subject)
        page = web.get("/settings/spam")
        text = page.get_data(as_text=True)
        assert page.status_code == 200, text[-2000:]
        assert "Bayes is unavailable right now" in text and "Redis" in text
        assert "Bayes is not active yet" not in text and "Bayes is active" not in text
        printed = spam_status(app)
        assert printed["bayes_available"] is False and "Redis" in printed["counts_error"]

    assert learning.status(mail_stack).readiness.available
    assert count(mail_stack, rcpt, "INBOX", inbound) == 1
    assert count(mail_stack, rcpt, "INBOX", submitted) == 1
