"""Disclaimers: Markdown rendered to safe HTML, and attached to a message as its own part.

The original message is never re-encoded: its body bytes and its Content-* header
fields move verbatim into the first part of a new multipart/mixed, and the disclaimer
(text and HTML alternatives) becomes the second part. Signatures over the original
(S/MIME and PGP/MIME sign the inner entity) therefore stay valid.

>>> out = attach(b"Subject: Hi\\r\\n\\r\\nBody\\r\\n", Disclaimer("example.test", "*No*", "<p>No</p>"))
>>> b"Content-Type: multipart/mixed" in out and b"\\r\\n\\r\\nBody\\r\\n\\r\\n--" in out
True
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from email import policy
from email.message import MIMEPart
from email.parser import BytesParser
from html.parser import HTMLParser

import bleach
import markdown

from .sanitize import sanitize_html

#: Header field that marks our part, with the sending domain as its value.
MARKER = "X-Mailroom-Disclaimer"
#: Longest Markdown source accepted (a disclaimer is a paragraph or two, not a page).
MAX_MARKDOWN = 10_000
# What a disclaimer may contain: text structure and links, no images, no styles.
TAGS = frozenset("a abbr b blockquote br code em h1 h2 h3 h4 h5 h6 hr i li ol p pre "
                 "small strong sub sup ul".split())
ATTRIBUTES = {"a": ["href", "title"], "abbr": ["title"]}
PROTOCOLS = frozenset(("http", "https", "mailto"))
_HEADER_NAME = re.compile(rb"^([!-9;-~]+)[ \t]*:")
_MARKER_LINE = re.compile(rb"^" + MARKER.encode("ascii") + rb"[ \t]*:", re.I | re.M)


@dataclass(frozen=True)
class Disclaimer:
    """A domain's disclaimer as mail carries it: plain text and sanitised HTML."""

    domain: str
    text: str
    html: str


def render_html(source: str) -> str:
    """Markdown SOURCE as sanitised HTML (the same for the preview and the mail).

    >>> render_html("**Confidential** <script>x()</script>")
    '<p><strong>Confidential</strong> </p>'
    """
    raw = markdown.markdown(source or "", extensions=["fenced_code", "sane_lists"],
                            output_format="html")
    # sanitize.py drops dangerous elements with their content (bleach alone keeps the
    # text of <script>); the narrow allow-list then leaves only what a disclaimer needs.
    safe = sanitize_html(raw, allow_remote=False, cid_map={}).html
    return bleach.clean(safe, tags=TAGS, attributes=ATTRIBUTES, protocols=PROTOCOLS,
                        strip=True, strip_comments=True)


def render(domain: str, source: str) -> Disclaimer:
    """The disclaimer of DOMAIN from its Markdown, as HTML and as the same text plain."""
    html = render_html(source)
    return Disclaimer(domain, html_to_text(html), html)


def html_to_text(html: str) -> str:
    """The plain-text form of a rendered disclaimer (blocks, list items, link targets).

    >>> html_to_text('<p>See <a href="https://x.test/">terms</a>.</p><ul><li>one</li></ul>')
    'See terms <https://x.test/>.\\n\\n- one'
    """
    renderer = _TextRenderer()
    renderer.feed(html)
    renderer.close()
    text = "\n".join(line.rstrip() for line in "".join(renderer.out).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


class _TextRenderer(HTMLParser):
    """Collects the text of sanitised disclaimer HTML, with blank lines between blocks."""

    BLOCKS = frozenset("p h1 h2 h3 h4 h5 h6 blockquote pre ul ol hr".split())

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.links: list[tuple[str, int]] = []  # open links: (href, where their text starts)
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        """Open a block, a list item or a link."""
        if tag in self.BLOCKS:
            self.out.append("\n\n")
        self.pre += tag == "pre"
        if tag == "li":
            self.out.append("\n- ")
        elif tag == "br":
            self.out.append("\n")
        elif tag == "hr":
            self.out.append("----\n\n")
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.out)))

    def handle_endtag(self, tag: str) -> None:
        """Close a block, or a link (whose target follows its text)."""
        if tag in self.BLOCKS:
            self.out.append("\n\n")
        self.pre -= tag == "pre" and self.pre > 0
        if tag == "a" and self.links:
            href, start = self.links.pop()
            target = href.removeprefix("mailto:")
            if target and "".join(self.out[start:]).strip() != target:
                self.out.append(f" <{target}>")

    def handle_data(self, data: str) -> None:
        """Text: white space collapsed as a browser would, except inside <pre>."""
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def has_disclaimer(raw: bytes, domain: str) -> bool:
    """Whether RAW already carries DOMAIN's disclaimer part at its top level.

    Only parts directly under a top-level multipart/mixed count, so a forwarded message
    (message/rfc822) with its own disclaimer inside does not stop ours.
    """
    if not _MARKER_LINE.search(raw):
        return False  # the usual case, without parsing a message of up to 25 MB
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    if message.get_content_type() != "multipart/mixed" or not message.is_multipart():
        return False
    wanted = domain.strip().lower()
    return any(
        value.strip().lower() == wanted
        for part in message.get_payload()
        for value in (part.get_all(MARKER) or ())
    )


def attach(raw: bytes, disclaimer: Disclaimer) -> bytes:
    """RAW with DISCLAIMER added as a second part; RAW itself when it is there already."""
    if has_disclaimer(raw, disclaimer.domain):
        return raw
    fields, eol, body = split_message(raw)
    outer = [f for f in fields if not _is_content_field(f)]
    inner = [f for f in fields if _is_content_field(f)]
    boundary = _boundary(body)
    head = [f for f in outer if _field_name(f) != b"mime-version"]
    head.append(b"MIME-Version: 1.0" + eol)
    head.append(b'Content-Type: multipart/mixed; boundary="' + boundary + b'"' + eol)
    if _has_8bit(inner, body):
        # RFC 2045 6.4: a multipart holding 8bit parts is itself labelled 8bit.
        head.append(b"Content-Transfer-Encoding: 8bit" + eol)
    delimiter = b"--" + boundary
    return b"".join([
        *head, eol,
        b"This is a multi-part message in MIME format." + eol,
        # The line end before a delimiter belongs to the delimiter (RFC 2046 5.1.1):
        # one of our own keeps the body's last line end, so the part is BODY exactly.
        delimiter, eol, *inner, eol, body, eol,
        delimiter, eol, disclaimer_part(disclaimer, eol),
        delimiter, b"--", eol,
    ])


def disclaimer_part(disclaimer: Disclaimer, eol: bytes = b"\r\n") -> bytes:
    """The multipart/alternative entity (headers and body) that carries the disclaimer."""
    part = MIMEPart()
    part[MARKER] = disclaimer.domain
    part.set_content(disclaimer.text + "\n", subtype="plain", charset="utf-8",
                     cte="quoted-printable")
    page = ('<!doctype html><html><body><div class="mailroom-disclaimer">'
            f"{disclaimer.html}</div></body></html>\n")
    part.add_alternative(page, subtype="html", charset="utf-8", cte="quoted-printable")
    data = part.as_bytes(policy=policy.SMTP.clone(linesep=eol.decode("ascii")))
    return data if data.endswith(eol) else data + eol


def split_message(raw: bytes) -> tuple[list[bytes], bytes, bytes]:
    """(header fields with their folded lines and line ends, line end, body) of RAW."""
    first = raw.find(b"\n")
    eol = b"\r\n" if first > 0 and raw[first - 1:first] == b"\r" else b"\n"
    fields: list[bytes] = []
    pos = 0
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        line = raw[pos:] if end < 0 else raw[pos:end + 1]
        if line in (b"\r\n", b"\n"):
            return fields, eol, raw[pos + len(line):]
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line  # a folded continuation of the previous field
        else:
            fields.append(line if line.endswith(b"\n") else line + eol)
        pos += len(line)
    return fields, eol, b""


def _field_name(field: bytes) -> bytes:
    """The lower-cased name of a header field (empty for a malformed line)."""
    match = _HEADER_NAME.match(field)
    return match.group(1).lower() if match else b""


def _is_content_field(field: bytes) -> bool:
    """Content-Type, Content-Transfer-Encoding and the other fields of the body entity."""
    return _field_name(field).startswith(b"content-")


def _has_8bit(inner: list[bytes], body: bytes) -> bool:
    """Whether the original entity is 8bit (declared so, or raw bytes above 127)."""
    declared = any(_field_name(f) == b"content-transfer-encoding"
                   and re.search(rb":\s*(8bit|binary)\b", f, re.I) for f in inner)
    return declared or re.search(rb"[\x80-\xff]", body) is not None


def _boundary(body: bytes) -> bytes:
    """A boundary that occurs nowhere in BODY (RFC 2046 5.1.1)."""
    while True:
        # "=_" cannot occur in quoted-printable or base64 text.
        boundary = b"=_mailroom_" + secrets.token_hex(12).encode("ascii")
        if boundary not in body:
            return boundary
