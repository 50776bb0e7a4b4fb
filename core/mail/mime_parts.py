"""Read one part of a parsed message without ever raising: type, parameters, payload.

Hostile headers make the email package raise assorted exceptions; every reader here
falls back to compat32 (raw header strings) and then to a harmless default.
"""
from __future__ import annotations

import logging
from email import policy
from email.message import Message

from .mime_text import decode_header_value, guess_decode

log = logging.getLogger(__name__)


def header_items(msg: Message) -> list[tuple[str, str]]:
    """Header (name, value) pairs as stored: no header-registry parsing involved."""
    try:
        return [(str(n), str(v)) for n, v in msg.raw_items()]
    except Exception as exc:  # a hostile header object may fail to stringify
        log.warning("cannot read headers: %r", exc)
        return []


def read_safely(part: Message, read, default):
    """READ(part) under its policy, else under compat32 (raw header strings), else DEFAULT.

    policy.default parses headers with email._header_value_parser, which has
    raised assorted exceptions on hostile values across CPython releases.
    """
    saved = part.policy
    try:
        for pol in (saved, policy.compat32):
            part.policy = pol
            try:
                return read(part)
            except Exception as exc:  # see docstring: the parser's errors are not a fixed set
                log.debug("reading a part under %s failed: %r", type(pol).__name__, exc)
        return default
    finally:
        part.policy = saved


def part_type(part: Message) -> str:
    """The lower-cased type/subtype; text/plain when absent or broken (RFC 2045 §5.2)."""
    return read_safely(part, lambda p: p.get_content_type(), "text/plain")


def part_param(part: Message, name: str, header: str = "content-type", hint: str | None = None):
    """A header parameter: str, an RFC 2231 tuple, or None."""
    raw = next((v for n, v in header_items(part) if n.lower() == header), "")
    if any("\udc80" <= c <= "\udcff" for c in raw):
        # Raw 8-bit bytes (kept as surrogates): both policies would decode them
        # as UTF-8 or U+FFFD; decode them ourselves (UTF-8, HINT, Windows-1252).
        part = Message()
        part[header] = guess_decode(raw.encode("utf-8", "surrogateescape"), hint)
    return read_safely(part, lambda p: p.get_param(name, None, header=header), None)


def part_disposition(part: Message) -> str | None:
    """'inline', 'attachment', another token, or None when absent."""
    value = read_safely(part, lambda p: p.get_content_disposition(), None)
    return value.lower() if isinstance(value, str) and value else None


def part_content_id(part: Message) -> str:
    """The Content-ID without angle brackets (RFC 2392), or ''."""
    raw = next((v for n, v in header_items(part) if n.lower() == "content-id"), "")
    return decode_header_value(raw).strip().strip("<>").strip()


def part_children(part: Message, ctype: str) -> list[Message] | None:
    """The sub-parts of a multipart PART, or None for a leaf (incl. message/rfc822)."""
    if not ctype.startswith("multipart/"):
        return None
    payload = read_safely(part, lambda p: p.get_payload(), None)
    return payload if isinstance(payload, list) else None


def part_bytes(part: Message) -> bytes:
    """The transfer-decoded bytes of a leaf, or the bytes of an attached message."""
    payload = read_safely(part, lambda p: p.get_payload(), None)
    if isinstance(payload, list):  # message/*: re-serialise the inner message (or blocks)
        return b"".join(read_safely(inner, lambda p: p.as_bytes(policy=policy.compat32), b"")
                        for inner in payload if isinstance(inner, Message))
    data = read_safely(part, lambda p: p.get_payload(decode=True), b"")
    return data if isinstance(data, bytes) else b""
