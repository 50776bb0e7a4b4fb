"""The webmail's "Mark as spam" / "Not spam" say whether the click trained the filter."""
from __future__ import annotations

import random

import pytest

from core.mail import imap, rspamd
from core.services.mail import mailbox
from core.services.spam import learning
from tests.helpers import new_address

from .spam_support import SPAM_WORDS, append, counts, generated, outcomes, plain_imap, wait_until


@pytest.fixture
def reader(mail_stack, stack_db, domain):
    """(address, logged-in imapclient connection) of a fresh mailbox."""
    address = new_address(stack_db, domain, "clicker")
    client = imap.login(imap.ImapSettings.from_config(mail_stack), address, "integration-pass-1")
    yield address, client
    imap.close(client)


def click(stack_db, cfg, client, address: str, folder: str, action: str) -> str:
    """What the webmail's bulk action answers for every message of FOLDER."""
    tree = mailbox.folder_tree(client)
    client.select_folder(folder)
    uids = client.search(["ALL"])[:1]
    with stack_db.transaction() as session:
        training = learning.training_for(session, cfg, address)
    return mailbox.bulk(client, tree, folder, uids, action, training=training)


def test_mark_as_spam_and_not_spam_answer_at_once_and_the_queue_trains(mail_stack, stack_db, reader):
    # Issue 12: the click waited up to 2 s for Rspamd; the learn queue makes training durable,
    # so the answer says it is queued and Settings -> Spam & Junk shows what was learned.
    address, client = reader
    raw = generated(SPAM_WORDS, address, random.Random(6))
    other = plain_imap(mail_stack, address)
    try:
        append(other, "INBOX", raw)
        append(other, "INBOX", raw)  # the very same message twice
    finally:
        other.logout()
    before = counts(mail_stack)
    said = click(stack_db, mail_stack, client, address, "INBOX", "spam")
    assert said == ("1 message moved to Junk. The move is queued to teach the spam filter "
                    "what spam looks like.")
    wait_until(lambda: counts(mail_stack)[0] == before[0] + 1, "the spam learned")
    click(stack_db, mail_stack, client, address, "INBOX", "spam")
    both = [rspamd.LEARNED, rspamd.ALREADY]
    wait_until(lambda: outcomes(mail_stack, address) == both, "both outcomes recorded")
    said = click(stack_db, mail_stack, client, address, "Junk", "notspam")
    assert said.startswith("1 message moved to INBOX. The move is queued to teach")
    wait_until(lambda: counts(mail_stack)[1] == before[1] + 1, "the ham learned")
