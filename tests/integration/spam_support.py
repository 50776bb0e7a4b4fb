"""Helpers of the spam filter tests: plain IMAP moves, generated mail, waiting for the queue."""
from __future__ import annotations

import imaplib
import random
import smtplib
import subprocess
import time
import uuid
from email.utils import formatdate
from typing import Callable

from core.mail import rspamd
from core.mail.learnspool import Spool
from core.models import SpamRule
from core.models.spam import FilterSettings
from core.services.spam import learning, spam_filter
from tests.helpers import PASSWORD

# Issue 5's own loopback addresses: another mail server "outside" (not in mynetworks).
OUTSIDE = "127.0.0.40"
SPAM_WORDS = (
    "casino jackpot viagra cialis lottery winner prize bitcoin crypto investment guaranteed "
    "profit rich millionaire cheap pills pharmacy discount offer limited urgent act now click "
    "unsubscribe free bonus credit loan approved debt consolidation weight loss miracle "
    "diet enlargement replica watches luxury bargain exclusive deal wire transfer inheritance "
    "prince beneficiary claim reward cash gift card password verify account suspended refund"
).split()
HAM_WORDS = (
    "meeting agenda quarterly budget review project milestone deadline draft report minutes "
    "colleague team schedule calendar invitation lunch conference room presentation slides "
    "feedback proposal contract invoice attached spreadsheet figures forecast planning "
    "workshop training onboarding holiday rota kitchen printer server maintenance backup "
    "library reading group seminar thesis chapter supervisor parents evening school trip"
).split()
FIRST = "anna bert carla dmitri eva farid greta hugo ines jonas kemal lena mario nora".split()
DOMAINS = "mailer.example post.example inbox.example letters.example news.example".split()


def settings(cfg: dict) -> rspamd.RspamdSettings:
    """How the tests reach Rspamd's controller and Redis."""
    return rspamd.RspamdSettings.from_config(cfg)


def restore_filter_defaults(cfg: dict, db) -> None:
    """Put the filter's default settings and an empty rule list back: the session's stack is shared."""
    with db.transaction() as session:
        session.query(SpamRule).delete()
        spam_filter.save_settings(session, FilterSettings())
    spam_filter.publish_rules(cfg)
    spam_filter.apply_settings(cfg, FilterSettings())


def wait_until(check: Callable[[], object], what: str, timeout: float = 20.0):
    """Poll CHECK until it returns something true; fail naming WHAT."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def generated(words: list[str], to: str, rng: random.Random, subject: str = "") -> bytes:
    """A plain-text message of 40-80 words of WORDS from a random sender."""
    sender = f"{rng.choice(FIRST)}.{rng.randrange(1000)}@{rng.choice(DOMAINS)}"
    body = " ".join(rng.choice(words) for _ in range(rng.randrange(40, 80)))
    subject = subject or " ".join(rng.choice(words) for _ in range(4))
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: {formatdate()}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@{sender.split('@')[1]}>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


def plain_imap(cfg: dict, address: str) -> imaplib.IMAP4:
    """A logged-in imaplib connection: a plain IMAP client, not the webmail."""
    client = imaplib.IMAP4(cfg["IMAP_HOST"], int(cfg["IMAP_PORT"]))
    client.login(address, PASSWORD)
    return client


def append(client: imaplib.IMAP4, folder: str, raw: bytes) -> None:
    """APPEND RAW to FOLDER."""
    typ, _ = client.append(folder, None, None, raw)
    assert typ == "OK"


def move_all(client: imaplib.IMAP4, source: str, target: str) -> None:
    """UID MOVE every message of SOURCE to TARGET (what Thunderbird's Junk button does)."""
    typ, _ = client.select(source)
    assert typ == "OK"
    typ, data = client.uid("MOVE", "1:*", target)
    assert typ == "OK", data


def spool(cfg: dict) -> Spool:
    """The stack's training queue."""
    return learning.spool(cfg)


def outcomes(cfg: dict, user: str) -> list[str]:
    """Training outcomes the queue worker recorded for USER, oldest first."""
    return [row["outcome"] for row in spool(cfg).read_state().recent if row["user"] == user]


def counts(cfg: dict) -> tuple[int, int]:
    """(spam, ham) Bayes has learned, read live from Redis."""
    return rspamd.bayes_counts(settings(cfg))


def flush_bayes(cfg: dict) -> None:
    """Forget everything Bayes learned (the session's stack is shared by later tests)."""
    # The password goes in redis-cli's environment, never on its command line.
    subprocess.run(["redis-cli", "-h", cfg["LISTEN_ADDRESS"], "-p", str(cfg["REDIS_PORT"]),
                    "FLUSHDB"], check=True, capture_output=True, timeout=20,
                   env={"PATH": "/usr/bin:/bin", "REDISCLI_AUTH": cfg["REDIS_PASSWORD"]})


def smtp_in(cfg: dict, sender: str, to: str, raw: bytes) -> None:
    """Deliver RAW to Postfix's inbound port from OUTSIDE, as another mail server would."""
    with smtplib.SMTP(cfg["LISTEN_ADDRESS"], int(cfg["SMTP_PORT"]), local_hostname="mx.outside.example",
                      timeout=30, source_address=(OUTSIDE, 0)) as conn:
        conn.sendmail(sender, [to], raw)
