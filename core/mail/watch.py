"""Waiting for new INBOX mail on a connection of its own (IMAP IDLE, RFC 2177).

The connection is never a pooled one: a stream holds it for minutes, and a pooled
connection must come back within one request. The caller bounds the wait (SECONDS)
and closes the connection afterwards.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from . import imap, listing
from .errors import ServiceUnavailable

FOLDER = "INBOX"
# At most this many new messages are announced one by one; more arrive as a count.
ANNOUNCE = 5


@dataclass(frozen=True)
class Unseen:
    """The INBOX's unread count changed (or is told for the first time)."""

    count: int


@dataclass(frozen=True)
class Arrived:
    """A new unread message in the INBOX."""

    uid: int
    sender: tuple[str, str]
    subject: str


@dataclass(frozen=True)
class Quiet:
    """Nothing happened for one heartbeat: the caller writes something to notice a gone client."""


Event = Unseen | Arrived | Quiet


def inbox_events(client: IMAPClient, seconds: float, heartbeat: float) -> Iterator[Event]:
    """Unseen first, then Arrived/Unseen as mail comes and goes, Quiet every HEARTBEAT s.

    Ends after SECONDS. Dovecot wakes an IDLE on new mail, expunges and flag changes
    (the unread count moves with each); a STATUS after each wake tells what changed.
    ServiceUnavailable when the connection breaks.
    """
    deadline = time.monotonic() + seconds
    uidnext, unseen = _status(client)
    yield Unseen(unseen)
    _call(client.select_folder, FOLDER, readonly=True)
    while (left := deadline - time.monotonic()) > 0:
        woken = _idle(client, min(left, heartbeat))
        now_next, now_unseen = _status(client)
        if now_next > uidnext:
            yield from _arrived(client, uidnext)
        if now_unseen != unseen:
            yield Unseen(now_unseen)
        elif not woken:
            yield Quiet()
        uidnext, unseen = now_next, now_unseen


def _idle(client: IMAPClient, seconds: float) -> bool:
    """IDLE for up to SECONDS; True when the server reported a change."""
    _call(client.idle)
    try:
        responses = _call(client.idle_check, timeout=seconds)
    finally:
        _call(client.idle_done)
    return bool(responses)


def _status(client: IMAPClient) -> tuple[int, int]:
    status = _call(client.folder_status, FOLDER, [b"UIDNEXT", b"UNSEEN"])
    return int(status[b"UIDNEXT"]), int(status[b"UNSEEN"])


def _arrived(client: IMAPClient, uidnext: int) -> Iterator[Arrived]:
    # "n:*" always includes the highest UID, even below n (RFC 3501 6.4.8).
    uids = [u for u in _call(client.search, ["UID", f"{uidnext}:*", "UNSEEN"]) if u >= uidnext]
    for row in listing.fetch_summaries(client, sorted(uids)[-ANNOUNCE:], preview=False):
        yield Arrived(row.uid, row.sender, row.subject)


def _call(method, *args, **kwargs):
    try:
        return method(*args, **kwargs)
    except (IMAPClientAbortError, OSError) as exc:
        raise ServiceUnavailable(imap.SERVICE, str(exc)) from exc
    except IMAPClientError as exc:
        raise imap.refused(exc) from exc
