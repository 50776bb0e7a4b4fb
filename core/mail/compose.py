"""Writing messages: the compose form's values, addresses, MIME building, reading originals.

Pure functions over the stdlib `email` package and core.mail.mime; no IMAP or SMTP here. Bytes
leave this module with CRLF line ends, as APPEND (RFC 3501 §6.3.11) and DATA want.
"""
from __future__ import annotations

import email
import email.utils
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesParser
from html.parser import HTMLParser

import markdown

from core.models import InvalidName, normalize_address

from . import mime, receipts
from .sanitize import clean_fragment

# 7bit: non-ASCII text goes out quoted-printable or base64, so no hop needs 8BITMIME.
OUTGOING = policy.default.clone(cte_type="7bit", linesep="\r\n")
FORMAT_HEADER = "X-Mailroom-Format"
ORIGIN_HEADER = "X-Mailroom-Origin"
TYPED_PREFIX = "X-Mailroom-Typed-"
PRIVATE_HEADERS = (FORMAT_HEADER, ORIGIN_HEADER,
                   *(f"{TYPED_PREFIX}{h}" for h in ("To", "Cc", "Bcc")))
REPLY_MODES = ("reply", "all", "forward", "forward-attachment")
HTML_TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3",
             "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "strong", "table",
             "tbody", "td", "th", "thead", "tr", "ul"}
HTML_ATTRIBUTES = {"a": ["href", "title"], "abbr": ["title"], "th": ["align"], "td": ["align"]}


class InvalidRecipients(ValueError):
    """Some typed recipients are not addresses; `bad` lists them as typed."""

    def __init__(self, bad: list[str]) -> None:
        super().__init__(", ".join(bad))
        self.bad = bad


@dataclass
class Draft:
    """What the compose form holds; a saved draft reads back into the same values."""

    sender: str = ""
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body: str = ""
    markdown: bool = False
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    reply_mode: str = ""
    reply_folder: str = ""
    reply_uid: int | None = None
    draft_uid: int | None = None
    receipt: bool = False  # ask for a read receipt (Disposition-Notification-To)
    priority: str = ""  # 'high', 'low' or '' (normal)


@dataclass(frozen=True)
class FilePart:
    """One attachment to put into a message."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Original:
    """The parts of a received message that a reply or forward needs."""

    subject: str = ""
    from_: list[tuple[str, str]] = field(default_factory=list)
    to: list[tuple[str, str]] = field(default_factory=list)
    cc: list[tuple[str, str]] = field(default_factory=list)
    reply_to: list[tuple[str, str]] = field(default_factory=list)
    date: datetime | None = None
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    text: str = ""
    attachments: list[FilePart] = field(default_factory=list)


def new_message_id(address: str) -> str:
    """A Message-ID on the sender's domain (RFC 5322 §3.6.4), e.g. '<3f2a…@example.test>'."""
    domain = address.rpartition("@")[2] or "localhost"
    return f"<{secrets.token_hex(16)}@{domain}>"


def valid_message_id(value: str) -> bool:
    """True for one '<left@right>' msg-id without spaces or line breaks."""
    value = value.strip()
    return (5 <= len(value) <= 250 and value.startswith("<") and value.endswith(">")
            and "@" in value and not any(c.isspace() for c in value))


def one_line(text: str) -> str:
    """TEXT on one line and printable: any line break (CR, LF, VT, U+2028…) would start
    a new header line, and the email package refuses other control characters."""
    joined = " ".join((text or "").splitlines())
    return "".join(c for c in joined if c.isprintable()).strip()


def split_typed(text: str) -> list[str]:
    """TEXT cut at commas and semicolons outside quotes, <…> and (…): one piece per recipient.

    >>> split_typed('"Doe, Jo" <jo@x.test>, bo@y.test')
    ['"Doe, Jo" <jo@x.test>', 'bo@y.test']
    """
    pieces, current, quoted, depth, escaped = [], [], False, 0, False
    for char in one_line(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char in "<(":
            depth += 1
        elif not quoted and char in ">)":
            depth = max(0, depth - 1)
        elif not quoted and not depth and char in ",;":
            pieces.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    pieces.append("".join(current).strip())
    return [piece for piece in pieces if piece]


def parse_recipients(text: str) -> list[tuple[str, str]]:
    """(name, normalised address) pairs of a typed list; InvalidRecipients names the bad ones.

    >>> parse_recipients('"Doe, Jo" <Jo@Example.test>, bo@example.test')
    [('Doe, Jo', 'jo@example.test'), ('', 'bo@example.test')]
    """
    found, bad = [], []
    for piece in split_typed(text):
        pairs = email.utils.getaddresses([piece])
        try:
            if len(pairs) != 1 or not pairs[0][1]:
                raise InvalidName(piece)
            found.append((pairs[0][0].strip(), normalize_address(pairs[0][1])))
        except InvalidName:
            bad.append(piece)
    if bad:
        raise InvalidRecipients(bad)
    return found


def format_recipients(pairs: list[tuple[str, str]]) -> str:
    """The typed form of (name, address) pairs: 'Anna <anna@x.test>, bo@y.test'."""
    return ", ".join(email.utils.formataddr((name, addr)) if name else addr
                     for name, addr in pairs)


def markdown_html(text: str) -> str:
    """Markdown TEXT as a small HTML document that is safe to send.

    Raw HTML in the source is shown as text (the HTML preprocessors are switched
    off), and clean_fragment then keeps only the tags Markdown itself produces.
    """
    md = markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists", "nl2br"])
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    fragment = clean_fragment(md.convert(text), HTML_TAGS, HTML_ATTRIBUTES)
    return ("<!doctype html>\n<html><head><meta charset=\"utf-8\"></head>\n"
            f"<body>\n{fragment}\n</body></html>\n")


def _address_header(pairs: list[tuple[str, str]]) -> list[Address]:
    return [Address(display_name=name, addr_spec=addr) for name, addr in pairs]


def _set_recipients(msg: EmailMessage, draft: Draft, for_draft: bool) -> None:
    # Bcc stays in the copy for Sent; smtplib drops it from what it transmits.
    for header, typed in (("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc)):
        if not typed.strip():
            continue
        try:
            msg[header] = _address_header(parse_recipients(typed))
        except InvalidRecipients as exc:
            if not for_draft:
                raise
            # A draft keeps what was typed, even half an address: the valid ones in
            # the real header (other clients show them), the typed text alongside.
            valid = [p for p in split_typed(typed) if p not in exc.bad]
            if valid:
                msg[header] = _address_header(parse_recipients(", ".join(valid)))
            msg[f"{TYPED_PREFIX}{header}"] = one_line(typed)


def _set_threading(msg: EmailMessage, draft: Draft) -> None:
    if valid_message_id(draft.in_reply_to):
        msg["In-Reply-To"] = draft.in_reply_to.strip()
    ids = [i for i in draft.references.split() if valid_message_id(i)]
    if ids:
        msg["References"] = " ".join(ids)


def _set_private(msg: EmailMessage, draft: Draft) -> None:
    if draft.markdown:
        msg[FORMAT_HEADER] = "markdown"
    if draft.reply_mode in REPLY_MODES and draft.reply_uid:
        msg[ORIGIN_HEADER] = f"{draft.reply_mode} {draft.reply_uid} {one_line(draft.reply_folder)}"


def build_message(draft: Draft, from_name: str, attachments: list[FilePart], *,
                  for_draft: bool = False, now: datetime | None = None,
                  reply_to: str = "") -> EmailMessage:
    """The message of DRAFT from FROM_NAME <draft.sender> with ATTACHMENTS (and REPLY_TO).

    For a draft, recipients are kept as typed and the form's private state
    (Markdown mode, what it replies to) rides along in X-Mailroom-* headers.
    """
    msg = EmailMessage(policy=OUTGOING)
    msg["Date"] = email.utils.format_datetime(now or email.utils.localtime())
    msg["From"] = Address(display_name=one_line(from_name), addr_spec=draft.sender)
    if reply_to.strip():
        msg["Reply-To"] = _address_header(parse_recipients(reply_to))
    _set_recipients(msg, draft, for_draft)
    msg["Subject"] = one_line(draft.subject)
    msg["Message-ID"] = draft.message_id if valid_message_id(draft.message_id) \
        else new_message_id(draft.sender)
    _set_threading(msg, draft)
    if draft.receipt:
        msg[receipts.RECEIPT_HEADER] = draft.sender
    receipts.set_priority(msg, draft.priority)
    if for_draft:
        _set_private(msg, draft)
    msg["User-Agent"] = "Mailroom"
    body = draft.body.replace("\r\n", "\n").replace("\r", "\n")
    msg.set_content(body if body.endswith("\n") else body + "\n")
    if draft.markdown:
        msg.add_alternative(markdown_html(body), subtype="html")
    for part in attachments:
        _attach(msg, part)
    return msg


def _attach(msg: EmailMessage, part: FilePart) -> None:
    if part.content_type.lower() == "message/rfc822":
        _attach_message(msg, part)
        return
    maintype, _, subtype = part.content_type.partition("/")
    if not subtype or maintype.lower() in ("multipart", "message"):
        maintype, subtype = "application", "octet-stream"
    # The header registry writes non-ASCII names as RFC 2231 filename*=utf-8''…
    msg.add_attachment(part.data, maintype=maintype, subtype=subtype,
                       filename=part.filename)


class _RawText(str):
    """A str payload that BytesGenerator writes back as the exact bytes it came from."""

    def encode(self, encoding="utf-8", errors="strict"):  # noqa: ARG002 (the generator's call)
        return str.encode(self, "ascii", "surrogateescape")


def _attach_message(msg: EmailMessage, part: FilePart) -> None:
    """Attach a whole message byte for byte (RFC 2046 §5.2.1: 7bit or 8bit, never base64)."""
    inner = EmailMessage(policy=msg.policy)
    inner["Content-Type"] = "message/rfc822"
    inner["Content-Disposition"] = "attachment"
    inner.set_param("filename", part.filename, header="Content-Disposition")
    eight_bit = any(b > 127 for b in part.data)
    inner["Content-Transfer-Encoding"] = "8bit" if eight_bit else "7bit"
    # A str payload is written out verbatim by the generator; surrogateescape keeps bytes.
    raw = part.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    inner.set_payload(_RawText(raw.decode("ascii", errors="surrogateescape")))
    if msg.get_content_maintype() != "multipart" or msg.get_content_subtype() != "mixed":
        msg.make_mixed()
    msg.attach(inner)


def to_bytes(msg: EmailMessage) -> bytes:
    """MSG as CRLF bytes for APPEND."""
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def without_private(msg: EmailMessage) -> EmailMessage:
    """MSG with the X-Mailroom-* headers removed (before it leaves the server)."""
    for name in PRIVATE_HEADERS:
        del msg[name]
    return msg


def _headers(raw: bytes) -> Message:
    """Only the header section, parsed with the header registry (addresses, RFC 2047 words)."""
    return BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)


def _pairs(msg: Message, name: str) -> list[tuple[str, str]]:
    """(name, address) pairs of an address header; a quoted 'Doe, Jo' stays one name."""
    try:
        values = [str(v) for v in msg.get_all(name, [])]
    except (ValueError, LookupError, AttributeError):  # hostile header: skip it
        return []
    return [(one_line(n), a) for n, a in email.utils.getaddresses(values) if a]


def _header(msg: Message, name: str) -> str:
    try:
        return one_line(str(msg.get(name, "") or ""))
    except (ValueError, LookupError, AttributeError):  # a broken encoded word
        return ""


def _typed(head: Message, name: str) -> str:
    """A draft's recipients as they were typed."""
    return _header(head, f"{TYPED_PREFIX}{name}") or format_recipients(_pairs(head, name))


def _text(parsed: mime.ParsedMessage) -> str:
    """The plain body, or the HTML body as text when there is no plain one."""
    if parsed.text is not None:
        return parsed.text
    return html_to_text(parsed.html) if parsed.html else ""


def _files(raw: bytes, parsed: mime.ParsedMessage) -> list[FilePart]:
    """The attachments people see (not the images an HTML body embeds by cid:)."""
    found = []
    for item in parsed.attachments:
        if item.disposition == "inline" and item.content_id:
            continue
        data, content_type, _ = mime.part_payload(raw, item.part_id)
        found.append(FilePart(item.filename, content_type, data))
    return found


def read_original(raw: bytes) -> Original:
    """Parse RAW into what a reply or a forward needs (text body, attachments, ids)."""
    parsed, head = mime.parse_message(raw), _headers(raw)
    return Original(
        subject=one_line(parsed.subject), from_=_pairs(head, "From"), to=_pairs(head, "To"),
        cc=_pairs(head, "Cc"), reply_to=_pairs(head, "Reply-To"), date=parsed.date,
        message_id=parsed.message_id, in_reply_to=parsed.in_reply_to,
        references=" ".join(parsed.references), text=_text(parsed),
        attachments=_files(raw, parsed),
    )


def read_draft(raw: bytes) -> tuple[Draft, list[FilePart]]:
    """A saved draft's form values (its plain text, not the HTML) and attachments."""
    parsed, head = mime.parse_message(raw), _headers(raw)
    senders = _pairs(head, "From")
    draft = Draft(
        sender=senders[0][1] if senders else "", to=_typed(head, "To"),
        cc=_typed(head, "Cc"), bcc=_typed(head, "Bcc"), subject=one_line(parsed.subject),
        body=_text(parsed), markdown=_header(head, FORMAT_HEADER).lower() == "markdown",
        message_id=parsed.message_id, in_reply_to=parsed.in_reply_to,
        references=" ".join(parsed.references), receipt=bool(receipts.receipt_address(head)),
        priority=receipts.priority_of(_header(head, "X-Priority"), _header(head, "Importance")),
    )
    mode, _, rest = _header(head, ORIGIN_HEADER).partition(" ")
    uid, _, folder = rest.partition(" ")
    if mode in REPLY_MODES and uid.isdigit() and folder:
        draft.reply_mode, draft.reply_uid, draft.reply_folder = mode, int(uid), folder
    return draft, _files(raw, parsed)


class _TextExtractor(HTMLParser):
    """Collects the readable text of HTML: blocks become lines, scripts and styles vanish."""

    SKIP = {"script", "style", "head", "title"}
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
             "table", "ul", "ol", "hr", "pre"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCK:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body, for quoting it."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "\n".join(line.strip() for line in "".join(parser.out).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
