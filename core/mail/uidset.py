"""IMAP UID sets (RFC 3501 §9 sequence-set) written as ranges, so a bulk change of many
messages is one command, not one per message.

Every set sent to the server is built here from integers, never copied from a request.
"""
from __future__ import annotations

import re
from typing import Iterable

# Dovecot refuses command lines over imap_max_line_length (64 KiB by default); a chunk of
# this many characters leaves room for the command and folder name around it.
MAX_SET_CHARS = 8000
MAX_UID = 2**32 - 1
_SET = re.compile(r"^\d{1,10}(:\d{1,10})?(,\d{1,10}(:\d{1,10})?)*$")


def ranges(uids: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted, merged (first, last) ranges of UIDS, e.g. [3, 1, 2, 7] -> [(1, 3), (7, 7)]."""
    merged: list[tuple[int, int]] = []
    for uid in sorted(set(uids)):
        if merged and uid == merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], uid)
        else:
            merged.append((uid, uid))
    return merged


def _text(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}:{last}"


def compress(uids: Iterable[int]) -> str:
    """UIDS as one sequence set: [1, 2, 3, 7] -> '1:3,7' ('' when there are none)."""
    return ",".join(_text(a, b) for a, b in ranges(uids))


def chunks(uids: Iterable[int], limit: int = MAX_SET_CHARS) -> list[str]:
    """UIDS as sequence sets of at most LIMIT characters each: as few commands as fit."""
    out: list[str] = []
    current = ""
    for first, last in ranges(uids):
        piece = _text(first, last)
        if current and len(current) + 1 + len(piece) > limit:
            out.append(current)
            current = ""
        current = f"{current},{piece}" if current else piece
    return out + [current] if current else out


def parse(text: str) -> list[tuple[int, int]]:
    """Ranges of a set without '*' as the server writes it in COPYUID: '4:6,9' -> [(4, 6), (9, 9)].

    ValueError for anything else (a request must not smuggle IMAP syntax in).
    """
    text = (text or "").strip()
    if not _SET.fullmatch(text):
        raise ValueError(f"not a UID set: {text[:40]!r}")
    found = []
    for piece in text.split(","):
        first, _, last = piece.partition(":")
        a, b = int(first), int(last or first)
        a, b = min(a, b), max(a, b)
        if a < 1 or b > MAX_UID:
            raise ValueError("UID out of range")
        found.append((a, b))
    return found


def count(text: str) -> int:
    """How many UIDs a set without '*' names: '4:6,9' -> 4."""
    return sum(b - a + 1 for a, b in ranges_of(text))


def ranges_of(text: str) -> list[tuple[int, int]]:
    """parse(), with overlapping ranges merged."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted(parse(text)):
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def canonical(text: str) -> str:
    """A checked set rewritten from its numbers: ' 9,4:6 ' -> '4:6,9'."""
    return ",".join(_text(a, b) for a, b in ranges_of(text))
