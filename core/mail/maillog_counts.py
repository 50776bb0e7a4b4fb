"""Today's figures for the dashboard from the Postfix log: received, sent, rejected.

Only lines that can count are parsed (a substring test first), so 100,000 lines take
some tens of milliseconds (bench/tracking.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from .maillog import QUEUE_ID, parse_line, year_of

CLIENT_LINE = re.compile(r"\S+: client=")
SUBMISSION = ("postfix/submission/smtpd", "postfix/submissions/smtpd")
SIZE_REFUSED = "queue file size limit exceeded"  # smtpd answered 552 during DATA


@dataclass
class Tally:
    """Messages taken in over port 25, submitted by signed-in people, and refused."""

    received: int = 0
    sent: int = 0
    rejected: int = 0


def tally(raw_lines: Iterable[str], newest: datetime, since: datetime) -> Tally:
    """Count RAW_LINES' messages from SINCE on; only lines that can count are parsed.

    Re-injections (the disclaimer filter's) are not counted again: a message sent is
    counted where it was submitted."""
    counts = Tally()
    for raw in raw_lines:
        if "client=" not in raw and "reject: " not in raw and SIZE_REFUSED not in raw:
            continue
        line = parse_line(raw.rstrip("\n"), year_of(raw, newest))
        if line is None or line.time < since:
            continue
        if "reject: " in line.text and (line.text.startswith("NOQUEUE: ") or "milter-reject" in line.text
                                        or QUEUE_ID.match(line.text)):
            counts.rejected += 1
        elif line.text.startswith("warning: ") and line.text.endswith(SIZE_REFUSED):
            counts.rejected += 1
        elif CLIENT_LINE.match(line.text):
            if line.program == "postfix/smtpd":
                counts.received += 1
            elif line.program in SUBMISSION:
                counts.sent += 1
    return counts

