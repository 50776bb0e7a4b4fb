"""Threaded mail for the conversation benchmark: replies in INBOX and answers in Sent.

bench.fill's messages stand alone; real mail is partly conversations. These are the
same messages with about REPLY_ODDS of them answering one of the last WINDOW messages
(In-Reply-To, References, "Re: " subject), and a Sent folder of the owner's own answers
to some of them, so a thread spans INBOX and Sent as it does for a person.
"""
from __future__ import annotations

import email.utils
import random
import re
import time
from datetime import datetime, timezone
from typing import Iterable, Iterator

from . import fill

REPLY_ODDS = 0.4  # share of INBOX messages that answer an earlier one
SENT_ODDS = 0.05  # share of INBOX messages the owner answered (copies in Sent)
WINDOW = 300  # a reply answers one of the last WINDOW messages
_HEADER = re.compile(rb"^(Message-ID|Subject): (.*)$", re.M)


def threaded(messages: Iterable[tuple[bytes, float, str]],
             seed: int = fill.FILL_SEED) -> Iterator[tuple[bytes, float, str]]:
    """MESSAGES (bench.fill.generate), some turned into replies to recent ones."""
    rng = random.Random(seed)
    recent: list[tuple[bytes, bytes, bytes]] = []  # (Message-ID, References, Subject)
    for data, arrived, flags in messages:
        head, _, body = data.partition(b"\n\n")
        found = dict(_HEADER.findall(head))
        refs = b""
        if recent and rng.random() < REPLY_ODDS:
            parent_id, parent_refs, subject = rng.choice(recent[-WINDOW:])
            refs = (parent_refs + b" " + parent_id).strip()
            head = head.replace(b"Subject: " + found[b"Subject"],
                                b"Subject: Re: " + subject.removeprefix(b"Re: "))
            head += b"\nIn-Reply-To: " + parent_id + b"\nReferences: " + refs
            found[b"Subject"] = subject
        recent.append((found[b"Message-ID"], refs, found[b"Subject"]))
        del recent[:-WINDOW]
        yield head + b"\n\n" + body, arrived, flags


def sent_answers(inbox: list[tuple[bytes, float, str]], owner: str,
                 seed: int = fill.FILL_SEED) -> list[tuple[bytes, float, str]]:
    """The owner's answers to about SENT_ODDS of INBOX's messages, as Sent holds them."""
    rng = random.Random(seed + 1)
    answers = []
    for number, (data, arrived, _) in enumerate(inbox):
        if rng.random() >= SENT_ODDS:
            continue
        head = data.partition(b"\n\n")[0]
        found = dict(_HEADER.findall(head))
        refs = re.search(rb"^References: (.*)$", head, re.M)
        chain = ((refs.group(1) + b" ") if refs else b"") + found[b"Message-ID"]
        when = min(arrived + rng.randint(60, 7200), time.time())
        text = (f"Message-ID: <sent.{seed}.{number}@bench.test>\n"
                f"Date: {email.utils.format_datetime(datetime.fromtimestamp(when, timezone.utc))}\n"
                f"From: Bench <{owner}>\nTo: someone@example.org\n").encode()
        text += (b"Subject: Re: " + found[b"Subject"].removeprefix(b"Re: ") + b"\n"
                 b"In-Reply-To: " + found[b"Message-ID"] + b"\nReferences: " + chain + b"\n"
                 b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
                 b"Thanks, noted.\n")
        answers.append((text, when, "S"))
    return answers
