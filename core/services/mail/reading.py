"""Reading one message: fetch once, parse, sanitise, and serve its parts safely."""
from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from email.utils import getaddresses
from typing import Sequence

import magic
from imapclient import IMAPClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cache import share
from core.i18n import lazy_gettext as _l
from core.mail import actions, listing, mime, provenance, sanitize
from core.mail.errors import NotFoundError
from core.models import TrustedSender, normalize_address
from core.models.base import InvalidName
from core.services.errors import InvalidInput

# Raster types a browser may show from our origin; everything else is a download.
INLINE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
INLINE_SAFE = INLINE_IMAGES | {"application/pdf", "text/plain"}


# Recently read messages' bytes, so the body frame and parts need no second FETCH, and
# their sanitised HTML, so the page and its frame sanitise once (~200 ms per 200 KB).
raw_cache = share(0.25)
html_cache = share(0.15)


@dataclass
class Opened:
    """A message ready to show."""

    folder: str
    uid: int
    raw: bytes
    parsed: "mime.ParsedMessage"
    flags: frozenset[str]
    sender: str = ""
    from_: list[tuple[str, str]] = field(default_factory=list)
    to: list[tuple[str, str]] = field(default_factory=list)
    cc: list[tuple[str, str]] = field(default_factory=list)
    neighbours: tuple[int | None, int | None] = (None, None)
    attachments: list = field(default_factory=list)


def fetch_raw(client: IMAPClient, owner: str, folder: str, uid: int) -> bytes:
    """The message's bytes, from the cache or by one FETCH (SELECTs the folder)."""
    info = listing.select(client, folder)
    key = (owner, folder, info.get(b"UIDVALIDITY"), uid)
    raw = raw_cache.get(key)
    if raw is None:
        raw = actions.raw_message(client, uid)
        raw_cache.put(key, raw, size=len(raw))
    return raw


def open_message(client: IMAPClient, owner: str, folder: str, uid: int,
                 order: Sequence[int] = ()) -> Opened:
    """Fetch, parse and mark UID as read; NotFoundError when it is not there."""
    raw = fetch_raw(client, owner, folder, uid)
    flags = actions.message_flags(client, uid)
    if "\\Seen" not in flags:
        actions.set_flag(client, [uid], "seen", True)
    parsed = mime.parse_message(raw)
    from_ = people(parsed.from_)
    opened = Opened(folder, uid, raw, parsed, flags | {"\\Seen"}, _sender(from_), from_,
                    people(parsed.to), people(parsed.cc))
    opened.attachments = [a for a in parsed.attachments if a.disposition == "attachment"
                          or not a.content_id]
    if order:
        opened.neighbours = _neighbours(order, uid)
    return opened


def people(header: str) -> list[tuple[str, str]]:
    """(name, address) pairs of an address header's decoded text."""
    return [(name, addr) for name, addr in getaddresses([header or ""]) if name or addr]


def _sender(from_: list[tuple[str, str]]) -> str:
    try:
        return normalize_address(from_[0][1]) if from_ else ""
    except InvalidName:
        return ""


def _neighbours(order: Sequence[int], uid: int) -> tuple[int | None, int | None]:
    try:
        i = order.index(uid)
    except ValueError:
        return (None, None)
    return (order[i - 1] if i > 0 else None, order[i + 1] if i + 1 < len(order) else None)


def is_trusted(db: Session, address: str, sender: str) -> bool:
    """True when ADDRESS chose to always show remote content from SENDER."""
    return bool(sender) and db.scalar(select(TrustedSender.id).where(
        TrustedSender.address == address, TrustedSender.sender == sender)) is not None


@dataclass(frozen=True)
class SenderTrust:
    """The reader's "always show remote content" choice for a message's sender."""

    chosen: bool  # the reader chose it for this From address
    verified: str  # what proves the From address ("DKIM", ...); "" when nothing does

    @property
    def honoured(self) -> bool:
        """Only a sender that is proved can be trusted: a From line is easy to forge."""
        return self.chosen and bool(self.verified)


def sender_trust(db: Session, address: str, opened: Opened, hostname: str) -> SenderTrust:
    """Whether to show OPENED's remote content to ADDRESS without asking (HOSTNAME: our MTA's)."""
    return SenderTrust(is_trusted(db, address, opened.sender),
                       provenance.verified_by(opened.parsed.all_headers, hostname, opened.sender))


def trust_sender(db: Session, address: str, sender: str) -> None:
    """Always show remote content from SENDER to ADDRESS; InvalidInput if it is no address."""
    try:
        sender = normalize_address(sender)
    except InvalidName as exc:
        raise InvalidInput(_l('%(sender)s is not an e-mail address.', sender=f"{sender!r}")) from exc
    if not is_trusted(db, address, sender):
        db.add(TrustedSender(address=address, sender=sender))
        db.commit()


def body_html(raw: bytes, allow_remote: bool,
              parsed: "mime.ParsedMessage | None" = None) -> "sanitize.SanitizedHtml | None":
    """The sanitised HTML body (cid: images inlined as data: URLs), or None for text mail.

    PARSED is RAW's parse when the caller has it; otherwise RAW is parsed only when its
    sanitised HTML is not cached (the body frame after the page: 6-18 ms saved).
    """
    key = (hashlib.sha256(raw).digest(), allow_remote)
    cached = html_cache.get(key)
    if cached is not None:
        return cached
    parsed = parsed or mime.parse_message(raw)
    if not parsed.html:
        return None
    cached = sanitize.sanitize_html(parsed.html, allow_remote=allow_remote,
                                    cid_map=_data_urls(raw, parsed))
    html_cache.put(key, cached, size=len(cached.html))
    return cached


def _data_urls(raw: bytes, parsed: "mime.ParsedMessage") -> dict[str, str]:
    """{content id: data: URL} of the inline images a browser may show, from one parse of RAW."""
    # Inline images travel inside the sandboxed frame as data: URLs: the frame's
    # opaque origin would not send our cookies to fetch them from us.
    images = {cid: image.part_id for cid, image in parsed.inline_images.items()
              if image.content_type in INLINE_IMAGES}
    if not images:
        return {}
    payloads = mime.part_payloads(raw, images.values())
    urls = {}
    for cid, part_id in images.items():
        payload, content_type, _ = payloads[part_id]
        urls[cid] = f"data:{content_type};base64,{base64.b64encode(payload).decode('ascii')}"
    return urls


def part(raw: bytes, part_id: str) -> tuple[bytes, str, str]:
    """(bytes, content type, safe filename) of one part; NotFoundError when absent."""
    try:
        return mime.part_payload(raw, part_id)
    except mime.PartNotFound as exc:
        raise NotFoundError(_l('There is no part %(part_id)s in this message.', part_id=part_id)) from exc


def zip_attachments(raw: bytes, parsed) -> bytes:
    """Every attachment of the message in one zip, names made unique."""
    buffer = io.BytesIO()
    seen: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for attachment in parsed.attachments:
            payload, _, name = part(raw, attachment.part_id)
            archive.writestr(unique_name(name, seen), payload)
    return buffer.getvalue()


def unique_name(name: str, seen: set[str]) -> str:
    """NAME, or 'stem (2).ext', 'stem (3).ext', … when SEEN has it; added to SEEN."""
    stem, dot, ext = name.rpartition(".")
    candidate, n = name, 1
    while candidate in seen:
        n += 1
        candidate = f"{stem} ({n}).{ext}" if dot else f"{name} ({n})"
    seen.add(candidate)
    return candidate


def sniffed_safe(payload: bytes, declared: str) -> bool:
    """True when PAYLOAD may be shown inline: a safe declared type its bytes confirm."""
    if declared == "text/plain":
        return True  # served as text/plain with nosniff: shown as text whatever it holds
    if declared not in INLINE_SAFE:
        return False
    return magic.from_buffer(payload[:8192], mime=True) == declared
