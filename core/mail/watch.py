"""Waiting for new mail on a connection of its own (IMAP IDLE, RFC 2177).

IDLE watches the INBOX, which it keeps selected; the other folders a person chose are
looked at with STATUS each time IDLE returns (new INBOX mail, or a heartbeat), so their
new mail is told within a heartbeat. The connection is never a pooled one: a stream
holds it for minutes, and a pooled connection must come back within one request. The
caller bounds the wait (SECONDS) and closes the connection afterwards.
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
    """A new unread message in the INBOX or a chosen folder."""

    folder: str
    uid: int
    sender: tuple[str, str]
    subject: str


@dataclass(frozen=True)
class Quiet:
    """Nothing happened for one heartbeat: the caller writes something to notice a gone client."""


Event = Unseen | Arrived | Quiet


def mail_events(client: IMAPClient, seconds: float, heartbeat: float,
                folders: tuple[str, ...] = ()) -> Iterator[Event]:
    """Unseen first, then Arrived/Unseen as mail comes and goes, Quiet every HEARTBEAT s.

    Arrived is told for new unread mail in the INBOX and in FOLDERS (those that exist);
    Unseen is the INBOX's count. Ends after SECONDS. Dovecot wakes an IDLE on new mail,
    expunges and flag changes (the unread count moves with each); a STATUS after each
    wake tells what changed. ServiceUnavailable when the connection breaks.
    """
    deadline = time.monotonic() + seconds
    uidnext, unseen = _status(client, FOLDER)
    yield Unseen(unseen)
    others = _uidnexts(client, folders)
    _call(client.select_folder, FOLDER, readonly=True)
    while (left := deadline - time.monotonic()) > 0:
        woken = _idle(client, min(left, heartbeat))
        now_next, now_unseen = _status(client, FOLDER)
        if now_next > uidnext:
            yield from _arrived(client, FOLDER, uidnext)
        told = yield from _elsewhere(client, others)
        if now_unseen != unseen:
            yield Unseen(now_unseen)
        elif not woken and not told:
            yield Quiet()
        uidnext, unseen = now_next, now_unseen


def _uidnexts(client: IMAPClient, folders: tuple[str, ...]) -> dict[str, int]:
    """Each of FOLDERS that exists (the INBOX aside) with its UIDNEXT."""
    wanted = [f for f in dict.fromkeys(folders) if f.upper() != FOLDER]
    existing = {name for _flags, _sep, name in _call(client.list_folders)}
    return {folder: _status(client, folder)[0] for folder in wanted if folder in existing}


def _elsewhere(client: IMAPClient, others: dict[str, int]):
    """Arrived for the new unread mail of the chosen folders since OTHERS' UIDNEXTs
    (updated); whether there was any. The INBOX is selected again afterwards."""
    told = moved = False
    for folder, uidnext in others.items():
        now_next = _status(client, folder)[0]
        if now_next > uidnext:
            moved = True
            _call(client.select_folder, folder, readonly=True)
            for event in _arrived(client, folder, uidnext):
                told = True
                yield event
            others[folder] = now_next
    if moved:  # also when that mail was read already: IDLE must watch the INBOX again
        _call(client.select_folder, FOLDER, readonly=True)
    return told


def _idle(client: IMAPClient, seconds: float) -> bool:
    """IDLE for up to SECONDS; True when the server reported a change."""
    _call(client.idle)
    try:
        responses = _call(client.idle_check, timeout=seconds)
    finally:
        _call(client.idle_done)
    return bool(responses)


def _status(client: IMAPClient, folder: str) -> tuple[int, int]:
    status = _call(client.folder_status, folder, [b"UIDNEXT", b"UNSEEN"])
    return int(status[b"UIDNEXT"]), int(status[b"UNSEEN"])


def _arrived(client: IMAPClient, folder: str, uidnext: int) -> Iterator[Arrived]:
    # FOLDER is the selected one. "n:*" always includes the highest UID, even below n
    # (RFC 3501 6.4.8).
    uids = [u for u in _call(client.search, ["UID", f"{uidnext}:*", "UNSEEN"]) if u >= uidnext]
    for row in listing.fetch_summaries(client, sorted(uids)[-ANNOUNCE:], preview=False):
        yield Arrived(folder, row.uid, row.sender, row.subject)


def _call(method, *args, **kwargs):
    try:
        return method(*args, **kwargs)
    except (IMAPClientAbortError, OSError) as exc:
        raise ServiceUnavailable(imap.SERVICE, str(exc)) from exc
    except IMAPClientError as exc:
        raise imap.refused(exc) from exc
