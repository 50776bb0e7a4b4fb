"""Parse raw RFC 5322 messages for the reading view; never raise on bad input.

A damaged message shows whatever can be shown, plus human-readable notes in
`defects`. Part ids are IMAP section numbers (RFC 3501 §6.4.5), so the view
can fetch one part with BODY[2] or hand `part_payload` the same id.

>>> msg = parse_message(b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\\r\\n\\r\\nHallo\\r\\n")
>>> msg.subject, msg.text
('Grüße', 'Hallo\\n')
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from html import escape
from itertools import islice
from typing import Iterable

from .errors import MailError
from .mime_enriched import enriched_to_html
from .mime_files import content_disposition, decode_filename, fallback_filename, safe_filename
from .mime_parts import (header_items, part_bytes, part_children, part_content_id,
                         part_disposition, part_param, part_type, read_safely)
from .mime_text import (decode_bytes, decode_header_value, has_control_chars, message_ids,
                        parse_date, shorten, unflow)

__all__ = ["Attachment", "ParsedMessage", "PartNotFound", "parse_message", "part_payload",
           "part_payloads", "safe_filename", "content_disposition"]
log = logging.getLogger(__name__)

#: Deeper multipart nesting is not walked (no real mail needs it; hostile mail might).
MAX_DEPTH = 100
_MULTIPART_RE = re.compile(rb"^content-type:[ \t]*multipart/", re.I | re.M)
_PART_ID_RE = re.compile(r"[1-9][0-9]{0,5}(\.[1-9][0-9]{0,5}){0,99}")
_META_CHARSET_RE = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([a-zA-Z0-9_.:-]+)", re.I)
_BODY_TYPES = ("text/plain", "text/html", "text/enriched")
# Text types that hold data rather than prose (an invitation, a card, a table, code):
# offered as files. Any other text subtype is a body, shown as plain text.
_TEXT_FILES = frozenset(("text/calendar", "text/x-vcalendar", "text/vcard", "text/x-vcard",
                         "text/directory", "text/csv", "text/tab-separated-values", "text/css",
                         "text/javascript", "text/xml"))
# The headers shown above each message of a digest.
_DIGEST_HEADERS = ("From", "To", "Cc", "Date", "Subject")
_DEFECT_NOTES = {
    "NoBoundaryInMultipartDefect": "the message structure is damaged: missing boundary; "
                                   "its content is shown as text",
    "StartBoundaryNotFoundDefect": "the message structure is damaged: the first boundary "
                                   "was not found",
    "CloseBoundaryNotFoundDefect": "the message structure is damaged: a multipart section "
                                   "is never closed (the message may be truncated)",
    "MultipartInvariantViolationDefect": "the message structure is damaged: declared as "
                                         "multipart but has no parts",
    "InvalidBase64PaddingDefect": "bad base64 padding; decoded what could be decoded",
    "InvalidBase64CharactersDefect": "invalid characters in base64 data were skipped",
    "InvalidBase64LengthDefect": "base64 data is cut short; the last bytes are lost",
    "MissingHeaderBodySeparatorDefect": "a malformed header line; the rest was read as body",
    "FirstHeaderLineIsContinuationDefect": "the first header line is a continuation line",
    "MisplacedEnvelopeHeaderDefect": "an mbox 'From ' line inside the headers",
    "InvalidMultipartContentTransferEncodingDefect": "a multipart part has a bad "
                                                     "Content-Transfer-Encoding",
}


class PartNotFound(MailError, LookupError):
    """The message has no part with that IMAP section number."""


@dataclass(frozen=True)
class Attachment:
    """One non-body part, e.g. ("2", "report.pdf", "application/pdf", 51234, None, "attachment")."""

    part_id: str
    filename: str
    content_type: str
    size: int
    content_id: str | None
    disposition: str  # 'attachment' | 'inline'


@dataclass
class ParsedMessage:
    """What the reading view shows of one message; header values are decoded text."""

    subject: str = ""
    from_: str = ""
    to: str = ""
    cc: str = ""
    reply_to: str = ""
    date: datetime | None = None
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    all_headers: list[tuple[str, str]] = field(default_factory=list)
    text: str | None = None
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    inline_images: dict[str, Attachment] = field(default_factory=dict)
    defects: list[str] = field(default_factory=list)


@dataclass
class _Walk:
    """Bodies found so far in one branch, plus the shared result."""

    result: ParsedMessage
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    charset: list[str] = field(default_factory=list)  # first declared: hint for 8-bit headers

    def branch(self) -> "_Walk":
        """A sub-walk with its own bodies (for choosing among alternatives)."""
        return _Walk(self.result, charset=self.charset)

    def note(self, text: str) -> None:
        """Record a defect note once."""
        if text not in self.result.defects:
            self.result.defects.append(text)


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse RAW into headers, best text/HTML bodies, attachments and notes."""
    msg, notes = _parse(raw)
    walk = _Walk(ParsedMessage(defects=notes))
    _walk(msg, "", 0, walk)
    result = walk.result
    result.text = "\n\n".join(walk.texts) if walk.texts else None
    result.html = "\n".join(walk.htmls) if walk.htmls else None
    if result.text is None and result.html is None:
        walk.note("The message has no readable text part.")
    _fill_headers(result, msg, walk.charset[0] if walk.charset else None)
    result.inline_images = {a.content_id: a for a in result.attachments
                            if a.content_id and a.content_type.startswith("image/")}
    return result


def part_payload(raw: bytes, part_id: str) -> tuple[bytes, str, str]:
    """The decoded bytes, content type and safe file name of one part.

    Example: part_payload(raw, "2") -> (b"%PDF-1.7...", "application/pdf", "report.pdf").
    Raises PartNotFound when PART_ID names no part.
    """
    return part_payloads(raw, [part_id])[part_id]


def part_payloads(raw: bytes, part_ids: Iterable[str]) -> dict[str, tuple[bytes, str, str]]:
    """part_payload of each of PART_IDS, from one parse of RAW.

    Example: part_payloads(raw, ["2", "3"]) -> {"2": (b"\\x89PNG...", "image/png", "a.png"), ...}.
    """
    root = _parse(raw)[0]
    found = {}
    for part_id in part_ids:
        part = _find(root, part_id)
        if part is None:
            raise PartNotFound(f"no part {part_id!r} in this message")
        ctype = part_type(part)
        name = safe_filename(decode_filename(part_param(part, "filename", "content-disposition")
                                             or part_param(part, "name")))
        found[part_id] = part_bytes(part), ctype, name or fallback_filename(part_id, ctype)
    return found


def _parse(raw: bytes) -> tuple[Message, list[str]]:
    """RAW as a Message: policy.default, then compat32, then headers + raw body text."""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else bytes(raw or b"")
    attempts = [(policy.default, False), (policy.compat32, False), (policy.compat32, True)]
    # The feed parser's cost grows with nesting depth x lines (and it hits the
    # recursion limit near 1000 levels): beyond MAX_DEPTH containers, show raw text.
    if sum(1 for _ in islice(_MULTIPART_RE.finditer(data), MAX_DEPTH + 1)) > MAX_DEPTH:
        attempts = attempts[2:]
    for pol, headers_only in attempts:
        try:
            msg = BytesParser(policy=pol).parsebytes(data, headersonly=headers_only)
        except Exception as exc:  # hostile structure, e.g. deep nesting: RecursionError
            log.warning("email parser (%s) failed: %r", type(pol).__name__, exc)
            continue
        # headersonly leaves the whole body as one string: shown as text by _leaf.
        return msg, (["The message structure could not be parsed (too deeply nested or "
                      "damaged); its raw text is shown."] if headers_only else [])
    return Message(), ["The message could not be read at all."]


def _walk(part: Message, section: str, depth: int, walk: _Walk) -> None:
    """Visit PART (IMAP section SECTION; '' for the message itself)."""
    if depth > MAX_DEPTH:
        walk.note(f"Parts nested deeper than {MAX_DEPTH} levels are not shown.")
        return
    ctype = part_type(part)
    children = part_children(part, ctype)
    if children is None:
        _leaf(part, section or "1", ctype, walk)
        _note_defects(part, section, walk)  # after decoding: base64 defects appear then
        return
    _note_defects(part, section, walk)
    numbered = [(f"{section}.{i}" if section else str(i), c) for i, c in enumerate(children, 1)]
    if ctype == "multipart/alternative":
        _walk_alternative(numbered, depth, walk)
    elif ctype == "multipart/related":
        _walk_related(part, numbered, depth, walk)
    elif ctype == "multipart/digest":
        for child_section, child in numbered:
            _walk_digest_entry(child, child_section, depth + 1, walk)
    else:
        for child_section, child in numbered:
            _walk(child, child_section, depth + 1, walk)


def _walk_alternative(numbered: list, depth: int, walk: _Walk) -> None:
    """RFC 2046 §5.1.4: alternatives come in increasing preference; take the last."""
    branches = []
    for child_section, child in numbered:
        branch = walk.branch()
        _walk(child, child_section, depth + 1, branch)
        branches.append((branch, _is_unknown_text(child)))
    # Text of an unknown subtype (text/x-amp-html) is shown only when nothing else is.
    known = [b for b, unknown in branches if not unknown and (b.texts or b.htmls)]
    chosen = known or [b for b, _ in branches]
    texts = [b.texts for b in chosen if b.texts]
    htmls = [b.htmls for b in chosen if b.htmls]
    walk.texts.extend(texts[-1] if texts else [])
    walk.htmls.extend(htmls[-1] if htmls else [])


def _walk_related(part: Message, numbered: list, depth: int, walk: _Walk) -> None:
    """RFC 2387 §3.2: the root is the part named by start=, else the first."""
    start = (part_param(part, "start") or "").strip().strip("<>")
    ids = [part_content_id(child) for _, child in numbered]
    root = ids.index(start) if start and start in ids else 0
    for index, (child_section, child) in enumerate(numbered):
        if index == root or part_children(child, part_type(child)) is not None:
            _walk(child, child_section, depth + 1, walk)
        else:  # resources of the root (images, CSS): never bodies of their own
            _add_attachment(child, child_section, part_type(child), walk)
            _note_defects(child, child_section, walk)


def _walk_digest_entry(part: Message, section: str, depth: int, walk: _Walk) -> None:
    """One part of a digest: RFC 2046 §5.1.5 makes it message/rfc822 unless it says otherwise.

    The message is an .eml attachment, as every attached message is, and its headers
    and readable text are shown in the body too.
    """
    _walk(part, section, depth, walk)
    inner = read_safely(part, lambda p: p.get_payload(), None)
    if part_type(part) != "message/rfc822" or not isinstance(inner, list) or not inner:
        return
    entry = _Walk(ParsedMessage(), charset=walk.charset)
    single = part_children(inner[0], part_type(inner[0])) is None
    _walk(inner[0], f"{section}.1" if single else section, depth + 1, entry)
    _fill_headers(entry.result, inner[0], walk.charset[0] if walk.charset else None)
    for note in entry.result.defects:
        walk.note(note)
    shown = {n.lower(): v for n, v in reversed(entry.result.all_headers)}  # the first of each
    heads = [(name, shown[name.lower()]) for name in _DIGEST_HEADERS if shown.get(name.lower())]
    if entry.texts:
        walk.texts.append("\n".join(f"{n}: {v}" for n, v in heads) + "\n\n"
                          + "\n\n".join(entry.texts))
    elif entry.htmls:
        walk.htmls.append('<p class="digest-headers">' + "<br>".join(
            f"<b>{escape(n)}:</b> {escape(v)}" for n, v in heads) + "</p>" + "\n".join(entry.htmls))


def _is_unknown_text(part: Message) -> bool:
    """Whether PART is text of a subtype shown only as plain text (RFC 2046 §4.1.4)."""
    ctype = part_type(part)
    return _is_body_type(ctype) and ctype not in _BODY_TYPES


def _is_body_type(ctype: str) -> bool:
    """Whether a part of type CTYPE is shown as the message's text (unless it is a named file)."""
    return ctype.startswith("text/") and ctype not in _TEXT_FILES


def _leaf(part: Message, section: str, ctype: str, walk: _Walk) -> None:
    """A single part: a text body, or an attachment."""
    disposition = part_disposition(part)
    named = part_param(part, "filename", "content-disposition") or part_param(part, "name")
    if ctype.startswith("multipart/"):
        ctype = "text/plain"  # a multipart without usable boundary: show its raw text
    if _is_body_type(ctype) and disposition != "attachment" and not named:
        text = _body_text(part, section, ctype, walk)
        if ctype == "text/html":
            walk.htmls.append(text)
        elif ctype == "text/enriched":
            walk.htmls.append(enriched_to_html(text))
        else:  # RFC 2046 §4.1.4: an unrecognised text subtype is treated as text/plain
            walk.texts.append(text)
    else:
        _add_attachment(part, section, ctype, walk)


def _body_text(part: Message, section: str, ctype: str, walk: _Walk) -> str:
    """The decoded text of a body part, newlines normalised."""
    data = part_bytes(part)
    charset = part_param(part, "charset")
    if not charset and ctype == "text/html":
        match = _META_CHARSET_RE.search(data[:4096])
        charset = match.group(1).decode("ascii") if match else None
    if charset and not walk.charset:
        walk.charset.append(charset)
    text, problem = decode_bytes(data, charset)
    if problem:
        walk.note(f"Part {section}: {problem}.")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if ctype == "text/plain" and (part_param(part, "format") or "").lower() == "flowed":
        text = unflow(text, (part_param(part, "delsp") or "").lower() == "yes")
    return text


def _add_attachment(part: Message, section: str, ctype: str, walk: _Walk) -> None:
    """Describe PART as an Attachment in the result."""
    hint = walk.charset[0] if walk.charset else None
    raw_name = (part_param(part, "filename", "content-disposition", hint)
                or part_param(part, "name", hint=hint))
    name = safe_filename(decode_filename(raw_name, hint)) or fallback_filename(section, ctype)
    cid = part_content_id(part) or None
    disposition = part_disposition(part) or ("inline" if cid else "attachment")
    walk.result.attachments.append(Attachment(
        section, name, ctype, len(part_bytes(part)), cid,
        "inline" if disposition == "inline" else "attachment"))


def _note_defects(part: Message, section: str, walk: _Walk) -> None:
    """Turn the parser's defect objects on PART into readable notes."""
    for defect in getattr(part, "defects", []):
        name = type(defect).__name__
        text = _DEFECT_NOTES.get(name) or (str(defect) or name).rstrip(".")
        walk.note(f"Part {section}: {text}." if section else text[0].upper() + text[1:] + ".")


def _fill_headers(result: ParsedMessage, msg: Message, hint: str | None) -> None:
    """Decode the top-level headers into RESULT."""
    for raw_name, value in header_items(msg):
        name = decode_header_value(raw_name)[:100]
        if has_control_chars(value):
            result.defects.append(f"The {name} header contains control characters; "
                                  "they were removed.")
        text, cut = shorten(decode_header_value(value, hint))
        if cut:
            result.defects.append(f"The {name} header is {len(value)} characters long; "
                                  "it was shortened.")
        result.all_headers.append((name, text))
    first = {}
    for name, text in result.all_headers:
        first.setdefault(name.lower(), text)
    result.subject, result.from_ = first.get("subject", ""), first.get("from", "")
    result.to, result.cc = first.get("to", ""), first.get("cc", "")
    result.reply_to = first.get("reply-to", "")
    result.date = parse_date(first.get("date", ""))
    result.message_id = (message_ids(first.get("message-id", "")) or [""])[0]
    result.in_reply_to = (message_ids(first.get("in-reply-to", "")) or [""])[0]
    result.references = message_ids(first.get("references", ""))


def _find(msg: Message, part_id: str) -> Message | None:
    """The part at IMAP section PART_ID, descending into message/rfc822 parts."""
    if not isinstance(part_id, str) or not _PART_ID_RE.fullmatch(part_id):
        return None
    node = msg
    for step, number in enumerate(int(n) for n in part_id.split(".")):
        entered = step == 0
        if step and part_type(node).startswith("message/"):
            inner = read_safely(node, lambda p: p.get_payload(), None)
            if not isinstance(inner, list) or not inner:
                return None
            node, entered = inner[0], True  # RFC 3501 §6.4.5: "3.1" is in the message at 3
        children = part_children(node, part_type(node))
        if children is None:
            if number != 1 or not entered:  # only a message's single body is "1"
                return None
        elif number <= len(children):
            node = children[number - 1]
        else:
            return None
    return node
