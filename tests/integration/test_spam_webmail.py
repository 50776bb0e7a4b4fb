"""The webmail's "Mark as spam" / "Not spam" say whether the click trained the filter."""
from __future__ import annotations

import random

import pytest

from core.mail import imap
from core.services.mail import mailbox
from core.services.spam import learning
from tests.helpers import new_address

from .spam_support import SPAM_WORDS, append, counts, generated, plain_imap


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


def test_mark_as_spam_and_not_spam_report_what_rspamd_did(mail_stack, stack_db, reader):
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
    assert said == "1 message moved to Junk. The spam filter learned it as spam."
    assert counts(mail_stack)[0] == before[0] + 1
    said = click(stack_db, mail_stack, client, address, "INBOX", "spam")
    assert said == "1 message moved to Junk. The spam filter had already learned it as spam."
    said = click(stack_db, mail_stack, client, address, "Junk", "notspam")
    assert said == "1 message moved to INBOX. The spam filter learned it as ham."
    assert counts(mail_stack)[1] == before[1] + 1
