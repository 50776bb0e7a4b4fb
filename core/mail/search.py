"""The search box's language, turned into IMAP SEARCH criteria.

`from:anna subject:"budget 2027" has:attachment is:unread before:2026-12-01 lunch`
becomes FROM/SUBJECT/HEADER/UNSEEN/BEFORE/TEXT criteria. Values reach IMAP only as
list items that imapclient quotes (or sends as literals); nothing is spliced into
a command string.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import date, timedelta

from core.i18n import lazy_gettext as _l

FIELDS = {"from": "FROM", "to": "TO", "cc": "CC", "subject": "SUBJECT", "body": "BODY"}
IS_WORDS = {"unread": ["UNSEEN"], "read": ["SEEN"], "flagged": ["FLAGGED"],
            "unflagged": ["UNFLAGGED"], "answered": ["ANSWERED"]}
# The SENT* keys compare the Date header (what people see), not the arrival time.
DATE_WORDS = {"before": "SENTBEFORE", "after": "SENTSINCE", "since": "SENTSINCE", "on": "SENTON"}


# imapclient quotes a value only when it holds a space, a quote or a backslash; these
# would otherwise reach the server raw and change the command (a "{5}" literal, a
# ")" closing the criteria, CR LF starting a new command). Values are split at them.
UNSAFE = re.compile(r"[(){}%*\[\]\x00-\x1f\x7f]+")


class QueryError(ValueError):
    """The search text cannot be understood; the message says which part."""


@dataclass(frozen=True)
class Query:
    """A parsed search: IMAP criteria and whether it spans every folder."""

    criteria: list
    text: str


def _tokens(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unclosed quote: take the words as they are
        return text.replace('"', "").split()


def _values(key: str, value: str) -> list:
    """KEY with each safe fragment of VALUE: `subject:f(x)` searches SUBJECT f and SUBJECT x."""
    out: list = []
    for fragment in UNSAFE.split(value):
        if fragment.strip():
            out += [key, fragment]
    return out


def _date(value: str, word: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise QueryError(_l('%(word)s: needs a date like 2026-03-31, not %(value)s',
                            word=word, value=f"{value!r}")) from exc


def parse(text: str) -> Query:
    """Parse the search box's TEXT into IMAP criteria (ALL when empty)."""
    criteria: list = []
    for token in _tokens(text.strip()):
        word, sep, value = token.partition(":")
        key = word.lower()
        if sep and value and key in FIELDS:
            criteria += _values(FIELDS[key], value)
        elif sep and key == "is" and value.lower() in IS_WORDS:
            criteria += IS_WORDS[value.lower()]
        elif sep and key == "has" and value.lower() == "attachment":
            # IMAP has no attachment search; multipart/mixed is the usual sign of one.
            criteria += ["HEADER", "Content-Type", "multipart/mixed"]
        elif sep and key in DATE_WORDS:
            day = _date(value, key)
            if key == "after":  # SENTSINCE is inclusive; "after" a day starts the next one
                day += timedelta(days=1)
            criteria += [DATE_WORDS[key], day]
        else:
            criteria += _values("TEXT", token)
    return Query(criteria or ["ALL"], text.strip())
