"""Rspamd stopped while people train."""
from __future__ import annotations

import json
import logging
import random
import time

from core.services.spam import learning
from tests.helpers import new_address
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
