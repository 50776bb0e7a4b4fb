"""Changing messages: flags, moving, deleting, emptying, appending, fetching raw bytes."""
from __future__ import annotations

import re
from datetime import datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from core.i18n import lazy_gettext as _l
from . import imap
from .errors import NotFoundError

_COPYUID = re.compile(r"\[COPYUID (\d+) [\d:,]+ ([\d:,]+)\]", re.IGNORECASE)

FLAG_NAMES = {"seen": "\\Seen", "flagged": "\\Flagged", "answered": "\\Answered",
              "forwarded": "$Forwarded", "junk": "$Junk", "notjunk": "$NotJunk",
              "mdnsent": "$MDNSent"}


def _run(call, *args):
    try:
        return call(*args)
    except IMAPClientError as exc:
        raise imap.refused(exc) from exc


def set_flag(client: IMAPClient, uids: list[int] | str, flag: str, on: bool) -> None:
    """Add or remove one flag (by name: 'seen', 'flagged', …) on UIDS of the selected folder.

    UIDS may be a set built by core.mail.uidset ('1:4012'): one STORE for all of them.
    """
    imap_flag = FLAG_NAMES[flag]
    _run(client.add_flags if on else client.remove_flags, uids, [imap_flag], True)


def move(client: IMAPClient, uids: list[int] | str, target: str) -> tuple[int, str] | None:
    """Move UIDS (a list, or a set built by core.mail.uidset) to TARGET.

    RFC 6851 MOVE; COPY + expunge where MOVE is missing. Returns where they went as
    (UIDVALIDITY, UID set) of TARGET when the server says it (RFC 4315 COPYUID), e.g.
    (1733350000, '41:43'); None otherwise.
    """
    conn = client._imap  # noqa: SLF001  imapclient has no call for untagged OK codes
    conn.untagged_responses.pop("OK", None)
    if client.has_capability("MOVE"):
        # RFC 6851 §4.3: COPYUID comes in an untagged OK before the EXPUNGEs.
        tagged = _run(client.move, uids, target)
    else:
        tagged = _run(client.copy, uids, target)
        _run(client.add_flags, uids, ["\\Deleted"], True)
        _run(client.uid_expunge, uids)
    return _copyuid([tagged, *conn.untagged_responses.pop("OK", [])])


def _copyuid(lines) -> tuple[int, str] | None:
    """(UIDVALIDITY, destination set) of a '[COPYUID 17 4:6 41:43]' response code."""
    for line in lines:
        text = line.decode("ascii", "replace") if isinstance(line, bytes) else str(line or "")
        found = _COPYUID.search(text)
        if found:
            return int(found.group(1)), found.group(2)
    return None


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


def fetch(client: IMAPClient, uids: list[int], items: list[bytes]) -> dict:
    """FETCH ITEMS of UIDS of the selected folder, e.g. {7: {b'RFC822.SIZE': 2210}}."""
    return _run(client.fetch, uids, items)


def search_set(client: IMAPClient, uid_set: str) -> list[int]:
    """The UIDs that exist in a set from core.mail.uidset ('1:4012'), ascending."""
    return sorted(_run(client.search, ["UID", uid_set]))


def raw_message(client: IMAPClient, uid: int) -> bytes:
    """The whole message UID of the selected folder as bytes (BODY.PEEK: stays unread)."""
    data = _run(client.fetch, [uid], [b"BODY.PEEK[]"])
    if uid not in data:
        raise NotFoundError(_l('There is no message %(uid)s in this folder.', uid=uid))
    return data[uid][b"BODY[]"]


def message_flags(client: IMAPClient, uid: int) -> frozenset[str]:
    """The flags of message UID of the selected folder."""
    data = _run(client.get_flags, [uid])
    if uid not in data:
        raise NotFoundError(_l('There is no message %(uid)s in this folder.', uid=uid))
    return frozenset(f.decode() if isinstance(f, bytes) else str(f) for f in data[uid])
