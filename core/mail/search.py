"""The search box's language, turned into IMAP SEARCH criteria.

`from:anna subject:"budget 2027" has:attachment is:unread before:2026-12-01 lunch`
becomes FROM/SUBJECT/HEADER/UNSEEN/BEFORE/TEXT criteria. Values reach IMAP only as
list items that imapclient quotes (or sends as literals); nothing is spliced into
a command string.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import date, timedelta

FIELDS = {"from": "FROM", "to": "TO", "cc": "CC", "subject": "SUBJECT", "body": "BODY"}
IS_WORDS = {"unread": ["UNSEEN"], "read": ["SEEN"], "flagged": ["FLAGGED"],
            "unflagged": ["UNFLAGGED"], "answered": ["ANSWERED"]}
DATE_WORDS = {"before": "BEFORE", "after": "SINCE", "since": "SINCE", "on": "ON"}


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
        return text.replace('"', " ").split()


def _date(value: str, word: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise QueryError(f"{word}: needs a date like 2026-03-31, not {value!r}") from exc


def parse(text: str) -> Query:
    """Parse the search box's TEXT into IMAP criteria (ALL when empty)."""
    criteria: list = []
    for token in _tokens(text.strip()):
        word, sep, value = token.partition(":")
        key = word.lower()
        if sep and value and key in FIELDS:
            criteria += [FIELDS[key], value]
        elif sep and key == "is" and value.lower() in IS_WORDS:
            criteria += IS_WORDS[value.lower()]
        elif sep and key == "has" and value.lower() == "attachment":
            # IMAP has no attachment search; multipart/mixed is the usual sign of one.
            criteria += ["HEADER", "Content-Type", "multipart/mixed"]
        elif sep and key in DATE_WORDS:
            day = _date(value, key)
            if key == "after":  # SINCE is inclusive; "after" the day means from the next one
                day += timedelta(days=1)
            criteria += [DATE_WORDS[key], day]
        else:
            criteria += ["TEXT", token]
    return Query(criteria or ["ALL"], text.strip())
