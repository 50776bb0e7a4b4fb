"""Text decoding for mail: charsets, RFC 2047 header words, dates, format=flowed.

Every function here takes hostile input and returns text; none raises.

>>> decode_header_value("=?koi8-r?B?8NLJ18XU?= world")
'Привет world'
"""
from __future__ import annotations

import base64
import codecs
import logging
import re
from datetime import datetime
from email.utils import parsedate_to_datetime

log = logging.getLogger(__name__)

#: Longest header value kept after decoding; longer ones are cut (with a note).
MAX_HEADER_CHARS = 16384
# Labels mail really uses, mapped to the codec browsers use for them (WHATWG
# Encoding Standard): the declared charset is usually a subset of what the
# sender's software wrote (Windows-1252 for Latin-1, GB18030 for GB2312, ...).
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "iso_8859-1": "cp1252",
    "latin1": "cp1252", "latin-1": "cp1252", "l1": "cp1252",
    "iso-8859-9": "cp1254", "latin5": "cp1254", "tis-620": "cp874", "iso-8859-11": "cp874",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030",
    "cp936": "gb18030", "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932",
    "x-sjis": "cp932", "ms_kanji": "cp932", "windows-31j": "cp932",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949",
    "big5": "big5hkscs", "x-mac-roman": "mac_roman", "macintosh": "mac_roman",
}
# Labels that say nothing about the bytes: decode as UTF-8, else Windows-1252.
_GUESS_LABELS = frozenset(("", "us-ascii", "ascii", "unknown-8bit", "x-unknown",
                           "unknown", "8bit", "default", "x-user-defined"))
# RFC 2047 §2: encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FOLD_RE = re.compile(r"\r?\n(?=[ \t])")
_MSGID_RE = re.compile(r"<[^<>\s]{1,998}>")
_QP_HEX_RE = re.compile(rb"=([0-9A-Fa-f]{2})")


def codec_for(charset: str | None) -> str | None:
    """The Python codec for a MIME charset label, or None if unknown or vague."""
    label = (charset or "").strip().strip("\"'").lower()
    if label in _GUESS_LABELS or len(label) > 40:
        return None
    try:
        name = codecs.lookup(_CHARSET_ALIASES.get(label, label)).name
        b"a".decode(name)  # refuses bytes-to-bytes codecs ('zlib', 'base64', 'rot13')
    except (LookupError, ValueError):  # ValueError: a NUL in the label; UnicodeError is one
        return None
    return name


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """DATA as text in CHARSET, with a note when the label or bytes were bad.

    >>> decode_bytes(b"caf\\xe9", "iso-8859-1")
    ('café', None)
    """
    label = (charset or "").strip().strip("\"'").lower()
    codec = codec_for(label)
    note = None
    if codec:
        try:
            return data.decode(codec), None
        except UnicodeDecodeError:
            return data.decode(codec, "replace"), f"bytes invalid in {label} were replaced"
        except (LookupError, UnicodeError) as exc:  # codecs that refuse to decode at all
            log.debug("codec %s failed: %s", codec, exc)
    if label not in _GUESS_LABELS:
        note = f"unknown charset {label[:40]!r}; shown as UTF-8 or Windows-1252"
    return guess_decode(data), note


def guess_decode(data: bytes, hint: str | None = None) -> str:
    """Undeclared bytes: UTF-8 if valid, else HINT, else Windows-1252 (never raises)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    codec = codec_for(hint)
    if codec:
        try:
            return data.decode(codec)
        except (LookupError, UnicodeError):
            pass
    return data.decode("cp1252", "replace")


def decode_header_value(value: str | None, hint: str | None = None) -> str:
    """A header value for display: unfolded, RFC 2047 decoded, 8-bit recovered.

    HINT is a charset to try for raw 8-bit bytes that are not UTF-8.
    """
    if not value:
        return ""
    text = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        # The parser kept raw 8-bit header bytes as surrogates (RFC 6532 or broken).
        text = guess_decode(text.encode("utf-8", "surrogateescape"), hint)
    text = _FOLD_RE.sub("", text)  # RFC 5322 §2.2.3 unfolding
    text = decode_words(text)
    return _CONTROL_RE.sub(lambda m: " " if m.group() in "\r\n\t" else "", text).strip()


def has_control_chars(value: str | None) -> bool:
    """True when VALUE contains characters a header must not (NUL, other C0)."""
    return bool(re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value or ""))


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded-words in TEXT, joining adjacent ones (§6.2)."""
    pieces: list[list] = []  # [is_word, bytes-or-str, charset]
    pos = 0
    for match in _ENCODED_WORD_RE.finditer(text):
        between = text[pos:match.start()]
        after_word = bool(pieces) and pieces[-1][0]
        if between and not (after_word and not between.strip()):
            pieces.append([False, between, None])
        charset = match.group(1).split("*")[0]  # RFC 2231 §5 language suffix
        data = _word_bytes(match.group(2), match.group(3))
        if pieces and pieces[-1][0] and pieces[-1][2].lower() == charset.lower():
            pieces[-1][1] += data  # a multi-byte character may span two words
        else:
            pieces.append([True, data, charset])
        pos = match.end()
    pieces.append([False, text[pos:], None])
    return "".join(decode_bytes(p[1], p[2])[0] if p[0] else p[1] for p in pieces)


def _word_bytes(encoding: str, payload: str) -> bytes:
    """The bytes of one encoded-word, decoded leniently (bad padding is common)."""
    if encoding in "bB":
        clean = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        clean = clean[: len(clean) - (len(clean) % 4 == 1)]  # a lone sextet holds no byte
        return base64.b64decode(clean + "=" * (-len(clean) % 4))
    raw = payload.replace("_", " ").encode("utf-8", "surrogateescape")  # RFC 2047 §4.2
    return _QP_HEX_RE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def shorten(value: str, limit: int = MAX_HEADER_CHARS) -> tuple[str, bool]:
    """VALUE cut to LIMIT characters, and whether it was cut."""
    if len(value) <= limit:
        return value, False
    return value[:limit] + "…", True


def parse_date(value: str) -> datetime | None:
    """An RFC 5322 Date header as a datetime, or None when unparseable."""
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def message_ids(value: str) -> list[str]:
    """The <msg-id>s in a Message-ID/In-Reply-To/References value (RFC 5322 §3.6.4)."""
    found = _MSGID_RE.findall(value or "")
    return found or ([value.strip()] if value and value.strip() else [])


def unflow(text: str, delsp: bool = False) -> str:
    """Join the soft line breaks of a format=flowed body (RFC 3676 §4.2)."""
    out: list[list] = []  # [quote depth, text]
    joining = False
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        body = body[1:] if body.startswith(" ") else body  # §4.4 space-stuffing
        flowed = body.endswith(" ") and body != "-- "  # §4.3 signature separator
        if flowed and delsp:
            body = body[:-1]
        if joining and out and out[-1][0] == depth:
            out[-1][1] += body
        else:
            out.append([depth, body])
        joining = flowed
    return "\n".join((">" * d + " " if d else "") + b for d, b in out)
