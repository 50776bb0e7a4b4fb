"""A folder's conversations: IMAP THREAD=REFS on the server, cached.

REFS (draft-ietf-morg-inthread) links messages by their References and In-Reply-To as
RFC 5256's REFERENCES does, without REFERENCES' last step, which merges conversations
whose subjects are equal once "Re:" is taken off: unrelated messages titled "Invoice"
or "Hello" stay apart, as in mail clients that thread strictly (Thunderbird's default).
Dovecot answers it in about half the time (100k messages: ~160 ms against ~300 ms, and
~570 ms against ~720 ms the first time a folder is ever threaded).

THREAD answers a tree per conversation; the list needs only which messages belong
together, the conversation with the latest arrival first (as the message list's
"Arrival" order: no SORT is needed on top of THREAD, which a change of the folder
would otherwise pay twice). The answer is parsed from its raw line (100k messages:
imapclient's generic parser takes ~600 ms for what the wire brings in ~250 ms) and
cached like the sorted UID lists, under the same validity (UIDVALIDITY, UIDNEXT,
EXISTS), so page after page of conversations costs no THREAD at all.

A folder's threads also go to the shared store (core.shared), packed as 32-bit
integers with the state they were made at, so that another app process, or this one
after a restart, reads them back (100k messages: one GET of ~0.5 MB) instead of
sending THREAD again; a store that is down or empty only means a THREAD, as before.
"""
from __future__ import annotations

import hashlib
import re
import sys
from array import array
from bisect import bisect_right
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.imapclient import _normalise_search_criteria

from core import shared
from core.cache import LruCache

from . import imap, listing

_TOKEN = re.compile(rb"[()]|\d+")
_IDS = re.compile(rb"<[^<>\s]{1,250}>")
REFERENCE_FETCH = b"BODY.PEEK[HEADER.FIELDS (IN-REPLY-TO REFERENCES)]"
REFERENCE_KEY = b"BODY[HEADER.FIELDS (IN-REPLY-TO REFERENCES)]"
# More new messages than this are threaded anew with the whole folder.
MAX_GROWN = 50
# How many of the newest threads' shown messages a new answer is looked for among.
SHOWN_THREADS = 500
# A folder's threads are shared unless packed they take more than this (~500k messages):
# one key per person and folder, written anew as the folder changes.
SHARED_MAX_BYTES = 4 << 20
SHARED_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Threads:
    """Every UID of a list grouped by conversation.

    UIDS holds the conversations latest arrival first, each conversation's messages
    in arrival (UID) order; STARTS where each begins, then len(UIDS).
    """

    uids: array
    starts: array

    def __len__(self) -> int:
        return len(self.starts) - 1

    def members(self, index: int) -> list[int]:
        """The UIDs of conversation INDEX, in arrival order."""
        return list(self.uids[self.starts[index]:self.starts[index + 1]])

    def index_of(self, uid: int) -> int | None:
        """Which conversation holds UID (None: none of the list)."""
        try:
            at = self.uids.index(uid)
        except ValueError:
            return None
        return bisect_right(self.starts, at) - 1

    def newest(self, index: int) -> int:
        """The UID of conversation INDEX's latest arrival."""
        return self.uids[self.starts[index + 1] - 1]


def threads(client: IMAPClient, cache: LruCache, owner: str, folder: str,
            criteria: list | None = None) -> tuple[Threads, dict]:
    """FOLDER's conversations (of the messages matching CRITERIA), cached; with its state.

    When mail only arrived since the cached threads (none left), the few new messages
    join them by their References (grown) instead of a new THREAD of the whole folder.
    The threads of a whole folder (no CRITERIA) this process lacks are looked for in the
    shared store first; a search's are this process's own.
    """
    info = listing.state(client, folder)
    key = (owner, folder, "threads", repr(criteria))
    valid_for = listing.sort_state(info, criteria)
    cached = cache.get(key)  # (Threads, the state they were made at)
    if (cached is None or cached[1] != valid_for) and criteria is None:
        stored = unpack(shared.store().get_blob(shared_key(owner, folder)))
        if stored is not None and (cached is None or stored[1] == valid_for):
            cached = stored
            if stored[1] == valid_for:
                _keep(cache, key, *stored)
    if cached is not None and cached[1] == valid_for:
        return cached[0], info
    found = grown(client, owner, folder, cached, info) if cached and criteria is None else None
    if found is None:
        info = listing.select(client, folder)
        found = arrange(groups(_thread_line(client, criteria)))
    made_at = listing.sort_state(info, criteria)
    _keep(cache, key, found, made_at)
    if criteria is None:
        packed = pack(found, made_at)
        if len(packed) <= SHARED_MAX_BYTES:
            shared.store().put_blob(shared_key(owner, folder), packed, SHARED_SECONDS)
    return found, info


def _keep(cache: LruCache, key: tuple, found: Threads, made_at: tuple) -> None:
    cache.put(key, (found, made_at), size=found.uids.itemsize * (len(found.uids) + len(found.starts)))


def shared_key(owner: str, folder: str) -> str:
    """The shared store's key of OWNER's FOLDER's threads (hashed: no address in the key)."""
    return "threads1:" + hashlib.sha256(repr((owner, folder)).encode()).hexdigest()


def pack(found: Threads, made_at: tuple) -> bytes:
    """FOUND and the state it was made at (UIDVALIDITY, UIDNEXT, EXISTS) as little-endian
    32-bit integers: those three, len(UIDS), UIDS, STARTS.

    >>> unpack(pack(Threads(array("I", [5, 2, 3]), array("I", [0, 1, 3])), (7, 6, 3, None)))
    (Threads(uids=array('I', [5, 2, 3]), starts=array('I', [0, 1, 3])), (7, 6, 3, None))
    """
    numbers = array("I", [*made_at[:3], len(found.uids)])
    numbers.extend(found.uids)
    numbers.extend(found.starts)
    if sys.byteorder == "big":
        numbers.byteswap()
    return numbers.tobytes()


def unpack(packed: bytes | None) -> tuple[Threads, tuple] | None:
    """The threads and state PACKED holds; None for nothing or what does not add up."""
    if not packed or len(packed) % 4:
        return None
    numbers = array("I")
    numbers.frombytes(packed)
    if sys.byteorder == "big":
        numbers.byteswap()
    if len(numbers) < 5:
        return None
    count = numbers[3]
    uids, starts = numbers[4:4 + count], numbers[4 + count:]
    if len(uids) != count or not starts or starts[0] != 0 or starts[-1] != count:
        return None
    return Threads(uids, starts), (*numbers[:3], None)


def grown(client: IMAPClient, owner: str, folder: str, cached: tuple[Threads, tuple],
          info: dict) -> Threads | None:
    """CACHED threads with the messages that arrived since, or None when that cannot be
    told without threading the whole folder anew.

    None when a message went (EXISTS grew less than the new UIDs), when many came, and
    when a new message answers one whose Message-ID is not among the rows the list has
    shown (the row cache). A new message naming nothing is a new conversation, as REFS
    makes it whatever its subject.
    """
    old, (uidvalidity, uidnext, exists, _) = cached
    if info.get(b"UIDVALIDITY") != uidvalidity or info.get(b"UIDNEXT", 0) - uidnext > MAX_GROWN:
        return None
    listing.select(client, folder)
    try:
        new = sorted(u for u in client.search(["UID", f"{uidnext}:*"]) if u >= uidnext)
        if not new or exists + len(new) != info.get(b"EXISTS"):
            return None
        data = client.fetch(new, [b"ENVELOPE", REFERENCE_FETCH])
    except IMAPClientError as exc:
        raise imap.refused(exc) from exc
    thread_of = _shown_ids(old, (owner, folder, uidvalidity))
    joined: dict[int, list[int]] = {}  # thread number (old, or new from -1 down) -> new UIDs
    for uid in new:
        envelope = data.get(uid, {}).get(b"ENVELOPE")
        named = message_ids(data.get(uid, {}).get(REFERENCE_KEY) or b"")
        number = next((thread_of[i] for i in reversed(named) if i in thread_of), None)
        if number is None and named:
            return None
        number = -1 - uid if number is None else number
        joined.setdefault(number, []).append(uid)
        if envelope and envelope.message_id:
            thread_of[envelope.message_id] = number
    return _with(old, joined)


def message_ids(headers: bytes) -> list[bytes]:
    """The Message-IDs header lines name, in order: b"References: <a@x> <b@y>" -> [b"<a@x>", b"<b@y>"]."""
    return _IDS.findall(headers)


def _shown_ids(old: Threads, where: tuple) -> dict[bytes, int]:
    """Message-ID -> thread number of the messages of OLD's first threads the list has
    shown (their rows are in listing.row_cache under WHERE: owner, folder, UIDVALIDITY)."""
    found = {}
    for index in range(min(len(old), SHOWN_THREADS)):
        for uid in old.members(index):
            cached = listing.row_cache.get((*where, uid))
            if cached is not None and cached[0].message_id:
                found[cached[0].message_id.encode()] = index
    return found


def _with(old: Threads, joined: dict[int, list[int]]) -> Threads:
    """OLD with JOINED's new UIDs added (keys: thread numbers; negative: new threads),
    the threads that grew first, latest arrival first."""
    front = sorted(joined, key=lambda n: max(joined[n]), reverse=True)
    uids, starts = array("I"), array("I")
    for number in front:
        starts.append(len(uids))
        if number >= 0:
            uids.extend(old.uids[old.starts[number]:old.starts[number + 1]])
        uids.extend(joined[number])
    grown_threads = {n for n in front if n >= 0}
    for index in range(len(old)):
        if index not in grown_threads:
            starts.append(len(uids))
            uids.extend(old.uids[old.starts[index]:old.starts[index + 1]])
    starts.append(len(uids))
    return Threads(uids, starts)


def _thread_line(client: IMAPClient, criteria: list | None) -> bytes:
    """The raw answer of UID THREAD REFS UTF-8 CRITERIA in the selected folder."""
    args = [b"REFS", b"UTF-8", *_normalise_search_criteria(criteria or ["ALL"], "UTF-8")]
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


def arrange(found: list[list[int]]) -> Threads:
    """Threads of FOUND, the one with the highest UID (the latest arrival) first."""
    found.sort(key=max, reverse=True)
    uids, starts = array("I"), array("I")
    for group in found:
        starts.append(len(uids))
        uids.extend(sorted(group))
    starts.append(len(uids))
    return Threads(uids, starts)
