"""The message list: sorted on the server, only the shown page fetched.

The sorted UID list of a folder is cached per connection owner and reused while
UIDVALIDITY, UIDNEXT and EXISTS say no message came or went, so paging through
a 100,000-message folder costs one SELECT and one FETCH of 50 UIDs. The rows
themselves (envelope, size, structure, preview) never change for a UID, so they are
cached too and a page seen before fetches only the FLAGS of its UIDs, which stay live.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Sequence

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from core.cache import LruCache, share
from core.i18n import lazy_gettext as _l

from . import envelope as env
from . import imap, receipts
from .errors import ImapError, NotFoundError, ServiceUnavailable
from .folders import check_name, state_of

SORT_KEYS = {"date": "DATE", "arrival": "ARRIVAL", "from": "FROM", "subject": "SUBJECT",
             "size": "SIZE"}
# The priority headers ride along in the same FETCH: a few bytes per row, no round trip.
PRIORITY_FETCH = b"BODY.PEEK[HEADER.FIELDS (X-PRIORITY IMPORTANCE)]"
PRIORITY_KEY = b"BODY[HEADER.FIELDS (X-PRIORITY IMPORTANCE)]"
FETCH_ITEMS = [b"ENVELOPE", b"FLAGS", b"RFC822.SIZE", b"BODYSTRUCTURE", b"INTERNALDATE",
               PRIORITY_FETCH]
# List rows by (owner, folder, UIDVALIDITY, UID): a UID names one message for good.
row_cache = share(0.2)
# What a cached Summary costs beyond its strings: the object, its dict, tuples, datetime.
ROW_OVERHEAD = 900


@dataclass
class Summary:
    """One row of the list."""

    uid: int
    subject: str
    sender: tuple[str, str]
    to: list[tuple[str, str]]
    date: datetime | None
    size: int
    flags: frozenset[str]
    attachment: bool
    preview: str = ""
    priority: str = ""  # 'high', 'low' or ''
    message_id: str = ""  # "<id@host>", as the envelope has it: what joins a conversation
    in_reply_to: str = ""

    seen = property(lambda self: "\\Seen" in self.flags)
    flagged = property(lambda self: "\\Flagged" in self.flags)
    answered = property(lambda self: "\\Answered" in self.flags)
    forwarded = property(lambda self: "$Forwarded" in self.flags)


@dataclass
class Page:
    """A page of a folder's list, with what is needed to poll for changes."""

    folder: str
    total: int
    page: int
    per_page: int
    messages: list[Summary]
    uidnext: int
    order: Sequence[int] = ()  # every UID of the list in order (the cached array, not a copy)
    uidvalidity: int = 0  # with uidnext, names "every message the list showed" exactly
    state: tuple = ()  # the folder's (messages, UIDNEXT, HIGHESTMODSEQ) when it was listed

    @property
    def pages(self) -> int:
        """How many pages the list has (at least one)."""
        return page_count(self.total, self.per_page)


def page_count(total: int, per_page: int) -> int:
    """How many pages TOTAL items fill (at least one)."""
    return max(1, -(-total // per_page))


def _state_items(client: IMAPClient) -> list[bytes]:
    items = [b"MESSAGES", b"UIDNEXT", b"UIDVALIDITY"]
    return items + [b"HIGHESTMODSEQ"] if client.has_capability("CONDSTORE") else items


def state(client: IMAPClient, folder: str) -> dict:
    """FOLDER's UIDVALIDITY, UIDNEXT, EXISTS (and HIGHESTMODSEQ) by one STATUS; selects nothing.

    Current whether or not this connection has FOLDER selected: Dovecot answers STATUS
    of the selected folder from the session's view as of its last sync, and the pool
    lends a connection only once that view is current (core/mail/pool.py).
    NotFoundError when the folder does not exist, ServiceUnavailable when the connection broke.
    """
    _check(folder)
    try:
        status = client.folder_status(folder, _state_items(client))
    except IMAPClientAbortError as exc:
        raise ServiceUnavailable(imap.SERVICE, str(exc)) from exc
    except IMAPClientError as exc:
        raise NotFoundError(_l('There is no folder %(folder)s.', folder=f"{folder!r}")) from exc
    return {b"EXISTS": status[b"MESSAGES"], **status}


def select(client: IMAPClient, folder: str, readonly: bool = False) -> dict:
    """SELECT FOLDER, or keep it when this connection has it open already.

    Returns the folder's state as SELECT reports it (UIDVALIDITY, UIDNEXT, EXISTS,
    HIGHESTMODSEQ); NotFoundError when the folder does not exist (a NO answer),
    ServiceUnavailable when the connection broke.
    """
    if getattr(client, "selected", None) in ((folder, readonly), (folder, False)):
        # STATUS is enough for the state, unless the folder was replaced meanwhile
        # (another UIDVALIDITY).
        info = state(client, folder)
        if int(info[b"UIDVALIDITY"]) == client.selected_uidvalidity:
            return info
    _check(folder)
    try:
        return client.select_folder(folder, readonly=readonly)
    except IMAPClientAbortError as exc:
        raise ServiceUnavailable(imap.SERVICE, str(exc)) from exc
    except IMAPClientError as exc:
        raise NotFoundError(_l('There is no folder %(folder)s.', folder=f"{folder!r}")) from exc


def _check(folder: str) -> None:
    try:
        check_name(folder)
    except ImapError as exc:
        raise NotFoundError(_l('There is no folder %(folder)s.', folder=f"{folder!r}")) from exc


def sorted_uids(client: IMAPClient, cache: LruCache, owner: str, folder: str,
                sort: str, reverse: bool, criteria: list | None = None) -> tuple[array, dict]:
    """All UIDs of FOLDER matching CRITERIA in order, cached; SELECTs FOLDER only to sort.

    Returns them with the folder's state (as state() gives it).
    """
    info = state(client, folder)
    key = (owner, folder, sort, reverse, repr(criteria))
    uids = cache.get(key, sort_state(info, criteria))
    if uids is None:
        info = select(client, folder)
        order = ("REVERSE " if reverse else "") + SORT_KEYS.get(sort, "DATE")
        try:
            found = client.sort([order], criteria or ["ALL"])
        except IMAPClientError as exc:
            raise imap.refused(exc) from exc
        uids = array("I", found)
        cache.put(key, uids, sort_state(info, criteria), uids.itemsize * len(uids))
    return uids, info


def sort_state(info: dict, criteria: list | None) -> tuple:
    """What a sorted list of UIDs is valid for: a flag-dependent search also needs HIGHESTMODSEQ."""
    return (info.get(b"UIDVALIDITY"), info.get(b"UIDNEXT"), info.get(b"EXISTS"),
            info.get(b"HIGHESTMODSEQ") if criteria and _flag_dependent(criteria) else None)


def _flag_dependent(criteria: list) -> bool:
    words = {str(c).upper() for c in criteria if isinstance(c, (str, bytes))}
    return bool(words & {"SEEN", "UNSEEN", "FLAGGED", "UNFLAGGED", "ANSWERED", "DRAFT"})


def fetch_summaries(client: IMAPClient, uids: list[int], preview: bool = True) -> list[Summary]:
    """ENVELOPE, FLAGS, size, structure (and a preview line) of exactly UIDS, in that order."""
    if not uids:
        return []
    items = list(FETCH_ITEMS)
    if preview and client.has_capability("PREVIEW"):
        items.append(b"PREVIEW")
    try:
        data = client.fetch(uids, items)
    except IMAPClientError as exc:
        raise imap.refused(exc) from exc
    return [_summary(uid, data[uid]) for uid in uids if uid in data]


def _summary(uid: int, item: dict) -> Summary:
    envelope = item.get(b"ENVELOPE")
    senders = env.addresses(envelope.from_) if envelope else []
    flags = _flags(item)
    preview = item.get(b"PREVIEW") or b""
    if isinstance(preview, tuple):  # (algorithm, text) in the draft form of RFC 8970
        preview = preview[-1] or b""
    return Summary(
        uid=uid,
        subject=env.decode_words(envelope.subject) if envelope else "",
        sender=senders[0] if senders else ("", ""),
        to=env.addresses(envelope.to) if envelope else [],
        date=env.envelope_date(envelope, item.get(b"INTERNALDATE")),
        size=int(item.get(b"RFC822.SIZE", 0)),
        flags=flags,
        attachment=env.has_attachment(item.get(b"BODYSTRUCTURE")),
        preview=preview.decode("utf-8", errors="replace") if isinstance(preview, bytes) else str(preview),
        priority=receipts.priority_from_header_block(item.get(PRIORITY_KEY) or b""),
        message_id=_text(envelope.message_id) if envelope else "",
        in_reply_to=_text(envelope.in_reply_to) if envelope else "",
    )


def _text(value) -> str:
    """An ENVELOPE's Message-ID or In-Reply-To as text ('' when absent)."""
    return value.decode("ascii", errors="replace").strip() if isinstance(value, bytes) else ""


def list_page(client: IMAPClient, cache: LruCache, owner: str, folder: str, *,
              sort: str = "date", reverse: bool = True, page: int = 1, per_page: int = 50,
              criteria: list | None = None) -> Page:
    """Page PAGE of FOLDER sorted by SORT; fetches only that page's messages."""
    uids, info = sorted_uids(client, cache, owner, folder, sort, reverse, criteria)
    pages = page_count(len(uids), per_page)
    page = min(max(1, page), pages)
    shown = list(uids[(page - 1) * per_page: page * per_page])
    uidvalidity = int(info.get(b"UIDVALIDITY", 0))
    rows = cached_summaries(client, (owner, folder, uidvalidity), shown,
                            int(info.get(b"HIGHESTMODSEQ", 0)))
    return Page(folder, len(uids), page, per_page, rows, int(info.get(b"UIDNEXT", 0)), uids,
                uidvalidity, state_of(info))


def cached_summaries(client: IMAPClient, where: tuple, uids: list[int],
                     modseq: int = 0) -> list[Summary]:
    """The rows of UIDS in the selected folder: cached rows with live FLAGS, the rest fetched.

    WHERE is (owner, folder, UIDVALIDITY); MODSEQ the folder's HIGHESTMODSEQ now. Every
    flag change raises HIGHESTMODSEQ (RFC 7162 §3.1.1), so rows whose flags were read at
    this MODSEQ are still exact and need no FETCH at all; the others get a FETCH FLAGS.
    A UID whose FLAGS no longer come back was expunged meanwhile and is left out.
    """
    cached = {uid: found for uid in uids if (found := row_cache.get((*where, uid))) is not None}
    known = {uid: row for uid, (row, read_at) in cached.items() if modseq and read_at == modseq}
    stale = [uid for uid in cached if uid not in known]
    if len(known) < len(uids):
        _open(client, *where[1:])  # sorted_uids selects only to sort
    if stale:
        try:
            flags = client.fetch(stale, [b"FLAGS"])
        except IMAPClientError as exc:
            raise imap.refused(exc) from exc
        for uid in (u for u in stale if u in flags):
            known[uid] = _remember(where, replace(cached[uid][0], flags=_flags(flags[uid])), modseq)
    for row in fetch_summaries(client, [uid for uid in uids if uid not in cached]):
        known[row.uid] = _remember(where, row, modseq)
    return [known[uid] for uid in uids if uid in known]


def _open(client: IMAPClient, folder: str, uidvalidity: int) -> None:
    """SELECT FOLDER unless this connection has it open already, at UIDVALIDITY."""
    selected = getattr(client, "selected", None)
    if not selected or selected[0] != folder or client.selected_uidvalidity != uidvalidity:
        select(client, folder)


def _remember(where: tuple, row: Summary, modseq: int) -> Summary:
    """Cache ROW, its flags read at MODSEQ; returns it."""
    row_cache.put((*where, row.uid), (row, modseq), size=_row_size(row))
    return row


def _row_size(row: Summary) -> int:
    people = [row.sender, *row.to]
    return (ROW_OVERHEAD + len(row.subject) + len(row.preview) + len(row.message_id)
            + len(row.in_reply_to)
            + sum(len(name) + len(address) + 100 for name, address in people))


def _flags(item: dict) -> frozenset[str]:
    return frozenset(f.decode() if isinstance(f, bytes) else str(f) for f in item.get(b"FLAGS", ()))


def arrived_since(client: IMAPClient, folder: str, uidnext: int) -> tuple[dict, list[Summary]]:
    """The messages of FOLDER whose UID is at least UIDNEXT (newest first).

    The folder is SELECTed (read-write, as the list does) only when something arrived;
    fetching ENVELOPE and FLAGS sets no \\Seen.
    """
    info = state(client, folder)
    fresh: list[int] = []
    if uidnext and int(info.get(b"UIDNEXT", 0)) > uidnext:
        select(client, folder)
        try:
            # "n:*" always includes the highest UID, even below n (RFC 3501 6.4.8).
            fresh = sorted((u for u in client.search(["UID", f"{uidnext}:*"]) if u >= uidnext),
                           reverse=True)
        except IMAPClientError as exc:
            raise imap.refused(exc) from exc
    return info, fetch_summaries(client, fresh)
