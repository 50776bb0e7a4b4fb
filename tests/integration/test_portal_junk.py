"""Spam handling: X-Spam: Yes to Junk before the person's rules, and Junk expiry by Dovecot."""
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from core.services.personal import junk
from tests.helpers import imap_login, wait_for_subject
from tests.integration.portal_support import (
    lmtp_deliver, post, rule_form, send, signed_in_person, subjects, unique, userdb,
)

pytestmark = pytest.mark.directory  # run again on PostgreSQL (stack/test.sh)

PAGE = "/settings/junk"


@pytest.fixture
def person(app, stack_db, domain):
    return signed_in_person(app, stack_db, domain, "junk")


def raw(subject: str, spam: str | None) -> bytes:
    header = f"X-Spam: {spam}\r\n" if spam else ""
    return (f"From: someone@outside.test\r\nTo: you\r\nSubject: {subject}\r\n{header}"
            f"Message-ID: <{subject}@outside.test>\r\n\r\nCheap pills.\r\n").encode()


def test_marked_spam_goes_to_junk_before_the_persons_rules(mail_stack, person):
    address, client = person
    assert post(client, "/settings/filters/new",
                rule_form("Everything flagged", [("subject", "contains", "pills")], [("flag",)])).status_code == 302
    spam, ham = unique("pills spam"), unique("pills ham")
    lmtp_deliver(mail_stack, address, raw(spam, "Yes"))
    lmtp_deliver(mail_stack, address, raw(ham, "No"))
    wait_for_subject(mail_stack, address, spam, "Junk")
    wait_for_subject(mail_stack, address, ham, "INBOX")
    client_ = imap_login(mail_stack, address)
    try:
        client_.select_folder("Junk", readonly=True)
        uid = client_.search(["SUBJECT", spam])[0]
        assert b"\\Flagged" not in client_.get_flags([uid])[uid]  # the rule never saw it
    finally:
        client_.logout()


def test_switching_it_off_keeps_spam_in_the_inbox(mail_stack, person):
    address, client = person
    assert post(client, PAGE, {"mode": "default"}).status_code == 302
    assert userdb(mail_stack, address)["sieve_env_mailroom_spam_to_junk"] == "no"
    spam = unique("kept spam")
    lmtp_deliver(mail_stack, address, raw(spam, "Yes"))
    wait_for_subject(mail_stack, address, spam, "INBOX")
    assert subjects(mail_stack, address, "Junk") == []


def test_spam_flag_from_outside_is_not_believed(mail_stack, person):
    """Postfix's Rspamd milter drops an X-Spam header that arrived with the message."""
    address, _ = person
    forged = unique("forged")
    send(mail_stack, address, forged, headers={"X-Spam": "Yes"})
    wait_for_subject(mail_stack, address, forged, "INBOX")


def test_retention_choices_reach_dovecot(mail_stack, person):
    address, client = person
    field = "namespace/inbox/mailbox/Junk/autoexpunge"
    assert userdb(mail_stack, address)[field] == f"{30 * 86400}s"  # the server default
    assert post(client, PAGE, {"spam_to_junk": "on", "mode": "days", "days": "7"}).status_code == 302
    assert userdb(mail_stack, address)[field] == f"{7 * 86400}s"
    assert post(client, PAGE, {"spam_to_junk": "on", "mode": "never"}).status_code == 302
    assert field not in userdb(mail_stack, address)
    refused = post(client, PAGE, {"spam_to_junk": "on", "mode": "days", "days": "many"})
    assert refused.status_code == 422 and "whole number" in refused.get_data(as_text=True)
    assert 'value="many"' in refused.get_data(as_text=True)


@contextmanager
def short_server_default(stack_db, days: float):
    """The server-wide Junk retention as a fraction of a day while the block runs.

    The settings value is text that the userdb casts to REAL on both databases (the
    mailbox's own integer column takes no fraction on PostgreSQL).
    """
    update = text("UPDATE settings SET value = :value WHERE key = :key")
    with stack_db.engine.begin() as conn:
        kept = conn.execute(text("SELECT value FROM settings WHERE key = :key"), {"key": junk.SETTING}).scalar()
        conn.execute(update, {"value": repr(days), "key": junk.SETTING})
    try:
        yield
    finally:
        with stack_db.engine.begin() as conn:
            conn.execute(update, {"value": kept, "key": junk.SETTING})


def test_dovecot_expunges_junk_older_than_the_limit(mail_stack, stack_db, person):
    """Autoexpunge counts from the save date (Maildir: the file's ctime), so a short limit.

    The server-wide limit is set to a fraction of a day; the userdb turns days into
    seconds exactly as it does for whole days.
    """
    address, _ = person
    old, other = unique("old junk"), unique("keeper")
    lmtp_deliver(mail_stack, address, raw(old, "Yes"))
    wait_for_subject(mail_stack, address, old, "Junk")
    with short_server_default(stack_db, 3 / 86400):
        assert userdb(mail_stack, address)["namespace/inbox/mailbox/Junk/autoexpunge"] == "3s"
        time.sleep(4)
        lmtp_deliver(mail_stack, address, raw(other, None))  # any session of the user runs autoexpunge
        wait_for_subject(mail_stack, address, other, "INBOX")
        deadline = time.monotonic() + 10
        while old in subjects(mail_stack, address, "Junk") and time.monotonic() < deadline:
            time.sleep(0.5)
    assert subjects(mail_stack, address, "Junk") == []
    assert other in subjects(mail_stack, address, "INBOX")  # the Inbox is never expunged
