"""Messages in and out as files: one .eml, a streamed zip of .eml, and importing .eml files.

An imported file is APPENDed with the date it was written (its Date header, else its
newest Received line) as INTERNALDATE and the flags mail programs store in it (mbox
Status/X-Status, Thunderbird's X-Mozilla-Status), \\Seen when it says none: it is old mail.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from typing import Iterator

import magic
from imapclient import IMAPClient

from core.i18n import lazy_gettext as _l
from core.mail import actions, envelope, listing, mime
from core.services.errors import InvalidInput

from .reading import unique_name

# One FETCH brings messages until about this many bytes, so a zip of thousands of
# messages holds one batch (or one message larger than it) in memory at a time.
BATCH_BYTES = 8 * 1024 * 1024
SIZES_PER_FETCH = 1000  # UIDs listed in one FETCH of sizes (a short enough command line)
MIB = 1024 * 1024
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")  # RFC 5322 §2.2: printable name, colon
KNOWN = {"from", "to", "cc", "subject", "date", "message-id", "mime-version", "received",
         "return-path", "delivered-to", "reply-to", "in-reply-to", "references"}
MOZILLA_BITS = ((0x0001, "\\Seen"), (0x0002, "\\Answered"), (0x0004, "\\Flagged"),
                (0x1000, "$Forwarded"))
MBOX_LETTERS = {"R": "\\Seen", "A": "\\Answered", "F": "\\Flagged", "T": "\\Draft"}


class NotAMessage(InvalidInput):
    """An uploaded file is no e-mail message (or too large to be one here)."""


@dataclass(frozen=True)
class Imported:
    """One imported file: its name, new UID (None if the server did not say), date, flags."""

    filename: str
    uid: int | None
    date: datetime | None
    flags: tuple[str, ...]


def eml_name(subject: str, fallback: str) -> str:
    """A file name for a message: 'Budget 2027.eml' ('FALLBACK.eml' without a subject)."""
    subject = re.sub(r"[/\\]", "_", subject).strip()[:80]  # a subject is no path
    return mime.safe_filename(f"{subject}.eml" if subject else "", f"{fallback}.eml")


def zip_of(client: IMAPClient, folder: str, sets: list[str]) -> Iterator[bytes]:
    """A zip of the messages of UID SETS of FOLDER as .eml files, yielded as it is written."""
    sink = _Sink()
    seen: set[str] = set()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        for batch in _batches(client, folder, sets):
            for uid, item in sorted(_fetch(client, batch).items()):
                archive.writestr(_entry(uid, item, seen), item[b"BODY[]"])
                yield sink.take()
    yield sink.take()


def _batches(client: IMAPClient, folder: str, sets: list[str]) -> Iterator[list[int]]:
    """UIDs in groups of about BATCH_BYTES, by their RFC822.SIZE."""
    listing.select(client, folder)
    batch, size = [], 0
    for chunk in sets:
        uids = actions.search_set(client, chunk)
        for start in range(0, len(uids), SIZES_PER_FETCH):
            sizes = actions.fetch(client, uids[start:start + SIZES_PER_FETCH], [b"RFC822.SIZE"])
            for uid in sorted(sizes):
                batch.append(uid)
                size += int(sizes[uid].get(b"RFC822.SIZE", 0))
                if size >= BATCH_BYTES:
                    yield batch
                    batch, size = [], 0
    if batch:
        yield batch


def _fetch(client: IMAPClient, uids: list[int]) -> dict:
    return actions.fetch(client, uids, [b"BODY.PEEK[]", b"INTERNALDATE", b"ENVELOPE"])


def _entry(uid: int, item: dict, seen: set[str]) -> zipfile.ZipInfo:
    """The zip entry of one message: 'YYYY-MM-DD Subject.eml', dated by INTERNALDATE."""
    when = item.get(b"INTERNALDATE") or datetime(1980, 1, 1)
    subject = envelope.decode_words(item[b"ENVELOPE"].subject) if item.get(b"ENVELOPE") else ""
    name = unique_name(eml_name(f"{when:%Y-%m-%d} {subject}", f"message-{uid}"), seen)
    info = zipfile.ZipInfo(name, date_time=max(when.timetuple()[:6], (1980, 1, 1, 0, 0, 0)))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


class _Sink(io.RawIOBase):
    """A write-only stream whose bytes are taken away as they come (zipfile writes here)."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        """Everything written since the last take."""
        data, self._parts = b"".join(self._parts), []
        return data


def check_message(data: bytes, filename: str, limit_mb: int) -> bytes:
    """DATA as a message to APPEND (an mbox 'From ' line removed); NotAMessage otherwise."""
    if len(data) > limit_mb * MIB:
        raise NotAMessage(_l('“%(filename)s” is larger than %(limit_mb)s MB, the most the mail '
                             'server accepts; it was not imported.', filename=filename, limit_mb=limit_mb))
    if data.startswith(b"From "):  # an mbox separator line, as some programs save .eml
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    kind = magic.from_buffer(data[:8192], mime=True) if data else _l("an empty file")
    if not (kind.startswith("message/") or (kind.startswith("text/") and _looks_like_mail(data))):
        raise NotAMessage(_l('“%(filename)s” is not an e-mail message (it is %(kind)s); nothing '
                             'was imported from it. Choose .eml files saved by a mail program.',
                             filename=filename, kind=kind))
    return data


def _looks_like_mail(data: bytes) -> bool:
    """A header block first (every line a field), with at least two well-known fields."""
    head = re.split(rb"\r?\n\r?\n", data[:65536], maxsplit=1)[0]
    names = []
    for line in head.splitlines():
        if line[:1] in (b" ", b"\t") and names:
            continue  # a folded continuation line
        if not _HEADER_LINE.match(line):
            return False
        names.append(line.split(b":", 1)[0].decode("ascii").lower())
    return len(KNOWN.intersection(names)) >= 2


def original_date(headers) -> datetime | None:
    """When the message was written: its Date, else its newest Received line's date."""
    candidates = [headers.get("Date")] + [r.rsplit(";", 1)[-1] for r in headers.get_all("Received", [])
                                          if ";" in r]
    for text in candidates:
        try:
            moment = parsedate_to_datetime(str(text or "").strip())
        except (TypeError, ValueError, IndexError):
            continue
        if moment is not None:
            return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return None


def stored_flags(headers) -> tuple[str, ...]:
    """The IMAP flags a mail program stored in the headers; ('\\Seen',) when none."""
    mozilla = str(headers.get("X-Mozilla-Status", "")).strip()
    if re.fullmatch(r"[0-9A-Fa-f]{1,8}", mozilla):
        bits = int(mozilla, 16)
        return tuple(flag for bit, flag in MOZILLA_BITS if bits & bit)
    letters = str(headers.get("Status", "")) + str(headers.get("X-Status", ""))
    if headers.get("Status") is not None or headers.get("X-Status") is not None:
        return tuple(dict.fromkeys(flag for ch, flag in MBOX_LETTERS.items() if ch in letters))
    return ("\\Seen",)


def import_message(client: IMAPClient, folder: str, filename: str, data: bytes,
                   limit_mb: int) -> Imported:
    """APPEND one .eml file to FOLDER with its original date and flags."""
    name = mime.safe_filename(filename, "message.eml")
    raw = check_message(data, name, limit_mb)
    headers = BytesHeaderParser().parse(io.BytesIO(raw))
    when, flags = original_date(headers), stored_flags(headers)
    uid = actions.append(client, folder, raw, flags, when)
    return Imported(name, uid, when, flags)
