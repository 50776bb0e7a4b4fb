"""The URL policy of core.mail.sanitize: links, cid: and data: images, remote images, trackers.

URLs are judged as a browser reads them (entities resolved, blanks and controls
dropped, '\\' as '/'), so 'java&#09;script:' or ' //host' cannot slip past.
"""
from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import unquote

import tinycss2

#: Marks an element whose remote image was held back (the reader may load it).
BLOCKED_ATTR = "data-mailroom-blocked"
LINK_SCHEMES = frozenset(("http", "https", "mailto"))
# Raster images only: data:image/svg+xml can carry script and markup.
DATA_IMAGE_RE = re.compile(r"^data:image/(png|gif|jpeg|jpg|webp|bmp);base64,[a-z0-9+/=]*$", re.I)
_URL_NOISE_RE = re.compile(r"[\x00-\x20\x7f-\xa0\s`]+")
_SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.-]*):")
# A scheme written plainly (no entity, blank or control before its colon) is the scheme
# squash() would find: the common case, without unescaping the whole URL.
_PLAIN_SCHEME_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
# Open-tracking endpoints of common mailers (SendGrid /wf/open, Mailchimp
# /track/open.php, generic .../open?id=) and pixel file names.
_PIXEL_URL_RE = re.compile(
    r"(/wf/open|/track/open|/open(\.(aspx|php|gif))?(\?|$)|/(pixel|beacon)(\.(gif|png))?"
    r"(/|\?|$)|[/_-]1x1\.(gif|png)|/blank\.gif)", re.I)
_MEMO_MAX_LENGTH = 1024  # longer styles are not remembered: the memo stays small
_LENGTH_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px)?\s*$", re.I)


@dataclass
class UrlPolicy:
    """The URL policy of one sanitize call and what it blocked."""

    allow_remote: bool
    cid_map: dict[str, str]
    trusted: frozenset[str]
    blocked: Counter = field(default_factory=Counter)
    has_remote: bool = False

    def resolve_image(self, url: str) -> tuple[str | None, str]:
        """Apply the image URL policy: (URL to use or None, 'ok'|'remote'|'bad')."""
        url = url.strip()
        if url in self.trusted:  # already rewritten by us: keeps sanitising idempotent
            return url, "ok"
        scheme = url_scheme(url)
        if scheme == "cid":
            mapped = _lookup_cid(url[url.index(":") + 1:], self.cid_map)
            return (mapped, "ok") if mapped else (None, "bad")
        if is_remote(url):
            self.has_remote = True
            if not self.allow_remote:
                return None, "remote"
            return ("https:" + url if url.startswith("//") else url), "ok"
        compact = _URL_NOISE_RE.sub("", url)  # base64 is case-sensitive: no squash()
        if scheme == "data" and DATA_IMAGE_RE.match(compact):
            return compact, "ok"
        return None, "bad"

    def block_image(self, el: ET.Element) -> None:
        """Count a held-back remote image and mark EL so the reader can be told."""
        self.blocked["images"] += 1
        el.set(BLOCKED_ATTR, "1")


def _lookup_cid(value: str, cid_map: Mapping[str, str]) -> str | None:
    """The app URL for a cid: URL's Content-ID (RFC 2392: %-encoded), or None."""
    key = cid_key(unquote(value))
    return cid_map.get(key) or {k.casefold(): v for k, v in cid_map.items()}.get(key.casefold())


def cid_key(content_id: str) -> str:
    """A Content-ID without angle brackets or surrounding space."""
    return content_id.strip().strip("<>").strip()


def squash(url: str) -> str:
    """URL as a browser reads it (no blanks or controls, '\\' as '/'), lower-cased."""
    return _URL_NOISE_RE.sub("", unescape(url)).replace("\\", "/").lower()


def url_scheme(url: str) -> str | None:
    """The lower-cased scheme of URL after browser-style normalisation, or None."""
    match = _PLAIN_SCHEME_RE.match(url) or _SCHEME_RE.match(squash(url))
    return match.group(1).lower() if match else None


def is_remote(url: str) -> bool:
    """True for URLs the browser would fetch from the network."""
    return bool(url) and (url_scheme(url) in ("http", "https") or squash(url).startswith("//"))


def is_tracker(el: ET.Element, src: str) -> bool:
    """A remote image that is 1x1, zero-sized, hidden or a known pixel URL."""
    style = el.get("style", "")
    hints = _style_hints if len(style) <= _MEMO_MAX_LENGTH else _style_hints.__wrapped__
    style_sizes, hidden = hints(style)
    sizes = [_length(el.get("width")), _length(el.get("height")), *style_sizes]
    known = [s for s in sizes if s is not None]
    tiny = bool(known) and (min(known) == 0 or max(known) <= 1)
    return hidden or "hidden" in el.attrib or tiny or bool(_PIXEL_URL_RE.search(src))


@functools.lru_cache(maxsize=1024)
def _style_hints(style: str) -> tuple[tuple[float | None, ...], bool]:
    """The pixel sizes a style gives and whether it hides: shop mail repeats one per image."""
    sizes, hidden = [], False
    for decl in tinycss2.parse_declaration_list(style, True, True):
        if decl.type != "declaration":
            continue
        value = tinycss2.serialize(decl.value).strip().lower()
        if decl.lower_name in ("width", "height", "max-width", "max-height"):
            sizes.append(_length(value))
        hidden |= (decl.lower_name, value) in (("display", "none"), ("visibility", "hidden"),
                                               ("opacity", "0"))
    return tuple(sizes), hidden


def _length(value: str | None) -> float | None:
    """A pixel length from an attribute or CSS value ('1', '1px'), else None."""
    match = _LENGTH_RE.match(value or "")
    return float(match.group(1)) if match else None
