"""Turning imapclient's ENVELOPE and BODYSTRUCTURE answers into plain values."""
from __future__ import annotations

from datetime import datetime

from .mime_text import decode_header_value

ATTACHMENT_TYPES = {b"application", b"audio", b"video", b"model", b"font"}


def decode_words(value) -> str:
    """Decode an ENVELOPE string (bytes, RFC 2047 words, raw 8-bit) for display."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        # Raw 8-bit bytes travel as surrogates; decode_header_value recovers them.
        value = value.decode("utf-8", errors="surrogateescape")
    return decode_header_value(value)


def address_of(addr) -> tuple[str, str]:
    """(display name, mailbox@host) of one imapclient Address."""
    mailbox = (addr.mailbox or b"").decode("utf-8", errors="replace")
    host = (addr.host or b"").decode("utf-8", errors="replace")
    return decode_words(addr.name), f"{mailbox}@{host}" if host else mailbox


def addresses(values) -> list[tuple[str, str]]:
    """Every (name, address) of an envelope address list (groups flattened)."""
    return [address_of(a) for a in (values or ()) if a.mailbox or a.host]


def has_attachment(structure) -> bool:
    """True when BODYSTRUCTURE shows a part people would call an attachment."""
    if structure is None:
        return False
    if structure.is_multipart:
        parts, subtype = structure[0], structure[1]
        if subtype.lower() == b"mixed" and len(parts) > 1:
            return True
        return any(has_attachment(p) for p in parts)
    main = (structure[0] or b"").lower()
    disposition = _disposition(structure)
    return disposition == b"attachment" or main in ATTACHMENT_TYPES


def _disposition(part) -> bytes | None:
    # A non-multipart BODYSTRUCTURE carries its disposition at index 8 (text: 9).
    for item in part[7:11] if len(part) > 7 else ():
        if isinstance(item, tuple) and item and isinstance(item[0], bytes):
            return item[0].lower()
    return None


def envelope_date(envelope, internal: datetime | None) -> datetime | None:
    """The Date header's time, or the arrival time when it is missing."""
    return envelope.date if envelope and envelope.date else internal
