"""Changing messages: flags, moving, deleting, emptying, appending, fetching raw bytes."""
from __future__ import annotations

from datetime import datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from . import imap
from .errors import NotFoundError

FLAG_NAMES = {"seen": "\\Seen", "flagged": "\\Flagged", "answered": "\\Answered",
              "forwarded": "$Forwarded", "junk": "$Junk", "notjunk": "$NotJunk",
              "mdnsent": "$MDNSent"}


def _run(call, *args):
    try:
        return call(*args)
    except IMAPClientError as exc:
        raise imap.refused(exc) from exc


def set_flag(client: IMAPClient, uids: list[int], flag: str, on: bool) -> None:
    """Add or remove one flag (by name: 'seen', 'flagged', …) on UIDS of the selected folder."""
    imap_flag = FLAG_NAMES[flag]
    _run(client.add_flags if on else client.remove_flags, uids, [imap_flag], True)


def move(client: IMAPClient, uids: list[int], target: str) -> None:
    """Move UIDS to TARGET (RFC 6851 MOVE; COPY + expunge where MOVE is missing)."""
    if client.has_capability("MOVE"):
        _run(client.move, uids, target)
        return
    _run(client.copy, uids, target)
    _run(client.add_flags, uids, ["\\Deleted"], True)
    _run(client.uid_expunge, uids)


def expunge(client: IMAPClient, uids: list[int]) -> None:
    """Delete UIDS for good (UID EXPUNGE touches only these, never others marked \\Deleted)."""
    if not uids:
        return
    _run(client.add_flags, uids, ["\\Deleted"], True)
    _run(client.uid_expunge, uids)


def empty(client: IMAPClient, folder: str) -> int:
    """Delete every message of FOLDER for good; returns how many.

    "1:*" rather than a list of UIDs: tens of thousands of UIDs would pass Dovecot's
    command line limit.
    """
    count = int(_run(client.select_folder, folder).get(b"EXISTS", 0))
    if count:
        _run(client.add_flags, "1:*", ["\\Deleted"], True)
        _run(client.uid_expunge, "1:*")
    return count


def append(client: IMAPClient, folder: str, raw: bytes, flags: tuple = (),
           when: datetime | None = None) -> int | None:
    """APPEND RAW to FOLDER; returns the new UID when the server says it (UIDPLUS)."""
    response = _run(client.append, folder, raw, flags, when)
    text = response.decode() if isinstance(response, bytes) else str(response)
    # RFC 4315: "[APPENDUID <uidvalidity> <uid>] Append completed."
    if "APPENDUID" in text:
        try:
            return int(text.split("APPENDUID", 1)[1].split("]", 1)[0].split()[1])
        except (IndexError, ValueError):
            return None
    return None


def raw_message(client: IMAPClient, uid: int) -> bytes:
    """The whole message UID of the selected folder as bytes (BODY.PEEK: stays unread)."""
    data = _run(client.fetch, [uid], [b"BODY.PEEK[]"])
    if uid not in data:
        raise NotFoundError(f"There is no message {uid} in this folder.")
    return data[uid][b"BODY[]"]


def message_flags(client: IMAPClient, uid: int) -> frozenset[str]:
    """The flags of message UID of the selected folder."""
    data = _run(client.get_flags, [uid])
    if uid not in data:
        raise NotFoundError(f"There is no message {uid} in this folder.")
    return frozenset(f.decode() if isinstance(f, bytes) else str(f) for f in data[uid])
