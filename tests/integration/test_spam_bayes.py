"""Bayes readiness: 200 generated spam and 200 generated ham make Rspamd's Bayes act.

The 400 messages go to the controller over parallel connections (what an admin's bulk
import would do); the time it takes is logged, not asserted (see bench/ for figures).
"""
from __future__ import annotations

import logging
import random
import time

import pytest

from core.mail import rspamd
from core.services.spam import learning

from .spam_support import HAM_WORDS, OUTSIDE, SPAM_WORDS, flush_bayes, generated, settings

log = logging.getLogger(__name__)
TO = "someone@example.test"


@pytest.fixture
def empty_bayes(mail_stack):
    """Bayes starts from nothing and is emptied again afterwards: later tests of this
    session's stack must not be scored by what this test taught it."""
    flush_bayes(mail_stack)
    yield
    flush_bayes(mail_stack)


def test_bayes_acts_after_200_spam_and_200_ham(mail_stack, empty_bayes):
    rng = random.Random(5)
    spams = [generated(SPAM_WORDS, TO, rng) for _ in range(learning.MIN_LEARNS)]
    hams = [generated(HAM_WORDS, TO, rng) for _ in range(learning.MIN_LEARNS)]
    server = settings(mail_stack)
    probe_spam = generated(SPAM_WORDS, TO, rng, subject="claim your casino jackpot prize")
    probe_ham = generated(HAM_WORDS, TO, rng, subject="agenda for the budget review meeting")
    assert "BAYES_SPAM" not in _scan(server, probe_spam).symbols

    # All spam first: Bayes becomes active only with the last ham, so Rspamd's rule
    # "do not learn what Bayes already classifies" never skips one of these.
    began = time.monotonic()
    learned_spam = rspamd.learn_many(server, "spam", spams, workers=16)
    took = time.monotonic() - began
    assert rspamd.learn(server, "spam", spams[0]) == rspamd.ALREADY  # shown, not an error
    began = time.monotonic()
    learned_ham = rspamd.learn_many(server, "ham", hams, workers=16)
    took += time.monotonic() - began
    log.info("learned 400 messages in %.2f s (%.0f per second)", took, 400 / took)
    assert learned_spam == {"learned": 200} and learned_ham == {"learned": 200}

    readiness = learning.readiness(mail_stack)
    assert (readiness.spam, readiness.ham, readiness.active) == (200, 200, True)
    assert "BAYES_SPAM" in _scan(server, probe_spam).symbols
    assert "BAYES_HAM" in _scan(server, probe_ham).symbols
    # Bayes now rates a new spam-like message as spam with certainty: nothing to learn.
    assert rspamd.learn(server, "spam", generated(SPAM_WORDS, TO, rng)) == rspamd.KNOWN


def _scan(server: rspamd.RspamdSettings, raw: bytes) -> rspamd.CheckResult:
    return rspamd.check(server, raw, ip=OUTSIDE, sender="x@mailer.example", recipients=[TO])
