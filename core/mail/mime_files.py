"""Attachment file names: decode what senders write, make it safe to save or serve.

>>> safe_filename("../../etc/passwd")
'passwd'
>>> content_disposition("Prüfbericht.pdf")
'attachment; filename="Prufbericht.pdf"; filename*=UTF-8\\'\\'Pr%C3%BCfbericht.pdf'
"""
from __future__ import annotations

import mimetypes
import re
import unicodedata
from email.utils import collapse_rfc2231_value
from urllib.parse import quote

from .mime_text import decode_header_value

# Windows refuses these names whatever the extension (CON.txt is the console).
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.I)
# Characters Windows, macOS or shells treat specially in a name.
_UNSAFE = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')
_MAX_BYTES = 200
# RFC 5987 §3.2.1 attr-char minus ALPHA / DIGIT, which quote() never escapes.
_ATTR_CHARS = "!#$&+-.^_`|~"
_EXTENSIONS = {"message/rfc822": ".eml", "text/plain": ".txt", "text/calendar": ".ics",
               "image/jpeg": ".jpg", "application/octet-stream": ".bin"}


def decode_filename(value, hint: str | None = None) -> str:
    """A raw filename/name parameter as text (RFC 2231 tuples, RFC 2047 words)."""
    if not value:
        return ""
    if isinstance(value, tuple):  # RFC 2231 §4: (charset, language, %-decoded text)
        value = collapse_rfc2231_value(value)
    # RFC 2047 §5 forbids encoded-words in quoted strings, yet Outlook and
    # Gmail put them in filename="..."; decode_header_value handles both.
    return decode_header_value(str(value), hint)


def safe_filename(name: str | None, fallback: str = "") -> str:
    """NAME reduced to a harmless base name, or FALLBACK when nothing is left.

    Strips directories (both separators), control and bidi-override characters
    (the 'gpj.exe' trick), leading dots and Windows reserved names.
    """
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    if _RESERVED.match(text):
        text = "_" + text
    text = _truncate(text)
    return text or fallback


def _truncate(name: str) -> str:
    """NAME cut to _MAX_BYTES of UTF-8, keeping its extension."""
    if len(name.encode("utf-8")) <= _MAX_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16:
        stem, ext = name, ""
    suffix = "." + ext if ext else ""
    budget = _MAX_BYTES - len(suffix.encode("utf-8"))
    cut = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
    return cut + suffix


def fallback_filename(part_id: str, content_type: str) -> str:
    """A name for a part that has none, e.g. 'attachment-2.pdf'."""
    ext = _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"
    return f"attachment-{part_id}{ext}"


def content_disposition(filename: str, inline: bool = False) -> str:
    """An RFC 6266 Content-Disposition value with an ASCII and a UTF-8 name.

    Old clients read filename="..." (ASCII, §4.3); others prefer filename*
    (RFC 5987), so both are sent, the ASCII one first (§4.3 advice).
    """
    name = safe_filename(filename, "download")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ascii_stem, ascii_ext = _ascii(stem) or "download", _ascii(ext)
    ascii_name = ascii_stem + ("." + ascii_ext if ascii_ext else "")
    kind = "inline" if inline else "attachment"
    encoded = quote(name, safe=_ATTR_CHARS)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


def _ascii(text: str) -> str:
    """TEXT transliterated to printable ASCII for a quoted-string (RFC 6266 §4.3)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    # Some browsers %-decode filename="..."; quotes and backslashes end the string.
    return re.sub(r'["\\%]', "_", plain).strip(" .")
