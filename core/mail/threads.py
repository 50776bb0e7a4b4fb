"""A folder's conversations: IMAP THREAD=REFERENCES (RFC 5256) on the server, cached.

THREAD answers a tree per conversation; the list needs only which messages belong
together, newest conversation first. The answer is parsed from its raw line (100k
messages: imapclient's generic parser takes ~600 ms for what the wire brings in
~250 ms) and ordered by the folder's date sort, which the message list keeps cached
anyway. The result is cached beside that sort under the same validity (UIDVALIDITY,
UIDNEXT, EXISTS), so page after page of conversations costs no THREAD at all.
"""
from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.imapclient import _normalise_search_criteria

from core.cache import LruCache

from . import imap, listing

_TOKEN = re.compile(rb"[()]|\d+")


@dataclass(frozen=True)
class Threads:
    """Every UID of a list grouped by conversation.

    UIDS holds the conversations newest first (by their newest message), each
    conversation's messages oldest first; STARTS where each begins, then len(UIDS).
    """

    uids: array
    starts: array

    def __len__(self) -> int:
        return len(self.starts) - 1

    def members(self, index: int) -> list[int]:
        """The UIDs of conversation INDEX, oldest first."""
        return list(self.uids[self.starts[index]:self.starts[index + 1]])

    def index_of(self, uid: int) -> int | None:
        """Which conversation holds UID (None: none of the list)."""
        try:
            at = self.uids.index(uid)
        except ValueError:
            return None
        return bisect_right(self.starts, at) - 1

    def newest(self, index: int) -> int:
        """The UID of conversation INDEX's newest message: the one its row opens."""
        return self.uids[self.starts[index + 1] - 1]


def threads(client: IMAPClient, cache: LruCache, owner: str, folder: str,
            criteria: list | None = None) -> tuple[Threads, dict]:
    """FOLDER's conversations (of the messages matching CRITERIA), cached; with its state."""
    order, info = listing.sorted_uids(client, cache, owner, folder, "date", True, criteria)
    key = (owner, folder, "threads", repr(criteria))
    valid_for = listing.sort_state(info, criteria)
    found = cache.get(key, valid_for)
    if found is None:
        listing.select(client, folder)
        found = arrange(groups(_thread_line(client, criteria)), order)
        cache.put(key, found, valid_for, found.uids.itemsize * (len(found.uids) + len(found.starts)))
    return found, info


def _thread_line(client: IMAPClient, criteria: list | None) -> bytes:
    """The raw answer of UID THREAD REFERENCES UTF-8 CRITERIA in the selected folder."""
    args = [b"REFERENCES", b"UTF-8", *_normalise_search_criteria(criteria or ["ALL"], "UTF-8")]
    try:
        data = client._raw_command_untagged(b"THREAD", args)  # parsed below, much faster
    except IMAPClientError as exc:
        raise imap.refused(exc) from exc
    return b" ".join(d for d in data if isinstance(d, bytes))


def groups(line: bytes) -> list[list[int]]:
    """The UIDs of each top-level thread of a THREAD answer, in no particular order.

    >>> groups(b"(2)(3 6 (4 23)(44 7 96))((5)(8))")
    [[2], [3, 6, 4, 23, 44, 7, 96], [5, 8]]
    """
    found: list[list[int]] = []
    depth = 0
    current: list[int] = []
    for token in _TOKEN.findall(line):
        if token == b"(":
            if not depth:
                current = []
                found.append(current)
            depth += 1
        elif token == b")":
            depth -= 1
        else:
            current.append(int(token))
    return found


def arrange(found: list[list[int]], order) -> Threads:
    """Threads of FOUND, ordered as ORDER (every UID, newest first) says.

    A UID missing from ORDER (it arrived between the SORT and the THREAD) is left out
    until the folder's next change lists it anew.
    """
    thread_of: dict[int, int] = {}
    for number, group in enumerate(found):
        for uid in group:
            thread_of[uid] = number
    members: dict[int, list[int]] = {}
    for uid in order:
        number = thread_of.get(uid)
        if number is not None:
            members.setdefault(number, []).append(uid)  # dicts keep first-seen order
    uids, starts = array("I"), array("I")
    for newest_first in members.values():
        starts.append(len(uids))
        uids.extend(reversed(newest_first))
    starts.append(len(uids))
    return Threads(uids, starts)
