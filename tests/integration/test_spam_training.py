"""Junk training from any IMAP client: Dovecot's IMAPSieve queues, the worker teaches Rspamd.

A plain imaplib client (not our webmail) moves messages; the effect is read in Rspamd's
own Bayes counters in Redis. Rspamd being down while people train is a fault test
(tests/faults).
"""
from __future__ import annotations

import logging
import random
import time

import pytest

from core.models import Group, Mailbox
from core.services.spam import learning
from tests.helpers import new_address

from .spam_support import (
    HAM_WORDS, SPAM_WORDS, append, counts, generated, move_all, outcomes, plain_imap, wait_until,
)

pytestmark = pytest.mark.directory  # run again on PostgreSQL (stack/test.sh)

log = logging.getLogger(__name__)


def test_moving_into_junk_teaches_spam_and_out_of_junk_teaches_ham(mail_stack, stack_db, domain):
    user = new_address(stack_db, domain, "trainer")
    rng = random.Random(1)
    client = plain_imap(mail_stack, user)
    try:
        append(client, "INBOX", generated(SPAM_WORDS, user, rng))
        spam_before, ham_before = counts(mail_stack)
        began = time.monotonic()
        move_all(client, "INBOX", "Junk")
        wait_until(lambda: counts(mail_stack)[0] == spam_before + 1, "the learned-spam count to rise")
        log.info("moved into Junk -> Rspamd learned it as spam after %.2f s", time.monotonic() - began)
        # Rspamd's counts can move a moment before the worker records the outcome.
        wait_until(lambda: outcomes(mail_stack, user) == ["learned"], "the spam outcome")

        move_all(client, "Junk", "INBOX")
        # Rspamd moves a message it learned as spam over to ham: spam falls, ham rises.
        wait_until(lambda: counts(mail_stack) == (spam_before, ham_before + 1),
                   "the learned-ham count to rise")
        wait_until(lambda: outcomes(mail_stack, user) == ["learned", "learned"], "the ham outcome")
    finally:
        client.logout()


def test_moving_out_of_junk_into_trash_teaches_nothing(mail_stack, stack_db, domain):
    user = new_address(stack_db, domain, "trasher")
    client = plain_imap(mail_stack, user)
    try:
        append(client, "Junk", generated(SPAM_WORDS, user, random.Random(2)))
        wait_until(lambda: outcomes(mail_stack, user) == ["learned"], "the APPEND into Junk to train")
        before = counts(mail_stack)
        move_all(client, "Junk", "Trash")
        append(client, "INBOX", generated(HAM_WORDS, user, random.Random(3)))
        move_all(client, "INBOX", "Junk")  # a later move proves the queue has moved on
        wait_until(lambda: len(outcomes(mail_stack, user)) == 2, "the second move")
        assert counts(mail_stack) == (before[0] + 1, before[1])
    finally:
        client.logout()


@pytest.fixture
def spamtrainers(stack_db, domain):
    """A spamtrainers group with one member; removed again (later tests expect none)."""
    member = new_address(stack_db, domain, "member")
    with stack_db.transaction() as session:
        group = Group(name=learning.TRAINERS_GROUP)
        group.members.append(session.query(Mailbox).filter_by(address=member).one())
        session.add(group)
    yield member
    with stack_db.transaction() as session:
        session.delete(session.query(Group).filter_by(name=learning.TRAINERS_GROUP).one())


def test_only_spamtrainers_train_when_the_group_exists(mail_stack, stack_db, domain, spamtrainers):
    outsider = new_address(stack_db, domain, "outsider")
    rng = random.Random(4)
    for user in (outsider, spamtrainers):
        client = plain_imap(mail_stack, user)
        try:
            append(client, "INBOX", generated(SPAM_WORDS, user, rng))
            before = counts(mail_stack)
            move_all(client, "INBOX", "Junk")
            wait_until(lambda: outcomes(mail_stack, user), f"the worker to handle {user}'s move")
            client.select("Junk")
            assert client.search(None, "ALL")[1][0], "the move itself must happen"
        finally:
            client.logout()
        if user == outsider:
            assert outcomes(mail_stack, user) == [learning.SKIPPED]
            assert counts(mail_stack) == before
        else:
            assert outcomes(mail_stack, user) == ["learned"]
            assert counts(mail_stack)[0] == before[0] + 1
