"""Make HTML mail safe to show, and plain-text mail readable, in the reading view.

The sandboxed iframe plus MAIL_CSP is the real boundary; this is the second wall,
in two passes so bleach (maintenance mode upstream) stays swappable:
1. html5lib (vendored by bleach) parses the document as a browser would; on that
   tree dangerous elements go *with their content* (bleach's strip=True keeps the
   text of <style>/<title>), all SVG/MathML goes (namespace-confusion mXSS), and
   the URL policy applies: remote images blocked or allowed, cid: rewritten,
   trackers removed, CSS url() checked, links opened in a new tab.
2. bleach.Cleaner re-checks the result against allow-lists (defence in depth).

>>> sanitize_html('<p onclick="x()">Hi<img src="https://t.example/a.png">',
...               allow_remote=False, cid_map={}).blocked
{'images': 1}
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape, unescape
from urllib.parse import quote, unquote

import bleach
import tinycss2
from bleach.css_sanitizer import CSSSanitizer
# bleach's own shim over its vendored html5lib: the same parser bleach uses.
from bleach.html5lib_shim import HTMLParser, HTMLSerializer, constants, getTreeWalker

_CSP_COMMON = ("default-src 'none'; script-src 'none'; object-src 'none'; "
               "frame-src 'none'; child-src 'none'; connect-src 'none'; font-src 'none'; "
               "media-src 'none'; form-action 'none'; base-uri 'none'; "
               "frame-ancestors 'self'; style-src 'unsafe-inline'; ")
#: CSP for the iframe document when remote content is blocked.
MAIL_CSP = _CSP_COMMON + "img-src 'self' data:"
#: CSP when the reader chose to load remote images: only img-src widens.
MAIL_CSP_REMOTE = _CSP_COMMON + "img-src 'self' data: https: http:"
BLOCKED_ATTR = "data-mailroom-blocked"

# Removed together with everything inside them: their text is never content
# (style/script/title), or their content is a parser-differential risk
# (noscript/template/xml, the mXSS class), or they embed or fetch things.
DROP_WITH_CONTENT = frozenset(
    "script style title head template noscript xml iframe frame frameset noframes noembed "
    "object embed applet param base meta link audio video source track picture canvas "
    "map area select datalist input portal".split())
_VOID_ELEMENTS = constants.voidElements
_RAWTEXT_AS_PRE = frozenset(("xmp", "plaintext", "listing"))
ALLOWED_TAGS = frozenset(
    "a abbr acronym address article aside b bdi bdo big blockquote br caption center cite "
    "code col colgroup dd del dfn div dl dt em figcaption figure font footer h1 h2 h3 h4 "
    "h5 h6 header hr i img ins kbd li main mark nav ol p pre q s samp section small span "
    "strike strong sub sup table tbody td tfoot th thead time tr tt u ul var wbr".split())
_GLOBAL_ATTRS = frozenset("style class align valign dir lang title width height bgcolor "
                          "border role aria-label aria-hidden".split())
_CELL_ATTRS = frozenset("colspan rowspan nowrap scope headers abbr".split())
_TAG_ATTRS = {
    "a": {"href", "target", "rel"}, "img": {"src", "alt", "hspace", "vspace"},
    "table": {"cellpadding", "cellspacing", "summary", "frame", "rules"},
    "td": _CELL_ATTRS, "th": _CELL_ATTRS, "col": {"span"}, "colgroup": {"span"},
    "font": {"color", "face", "size"}, "ol": {"start", "type", "reversed"},
    "ul": {"type"}, "li": {"value", "type"}, "hr": {"size", "noshade", "color"},
}
_SIDES = ("top", "right", "bottom", "left")
# Layout and typography that e-mail relies on. Deliberately absent: position,
# top/left, z-index, transform (overlays that fake UI), content, cursor,
# behavior, -moz-binding, filter, list-style-image, border-image, mask.
ALLOWED_CSS = frozenset((
    *"background background-color background-image background-position background-repeat "
     "background-size border border-collapse border-spacing border-color border-style "
     "border-width border-radius box-shadow box-sizing caption-side clear color direction "
     "display empty-cells float font font-family font-size font-style font-variant "
     "font-weight height letter-spacing line-height list-style list-style-position "
     "list-style-type margin max-height max-width min-height min-width opacity outline "
     "overflow overflow-wrap padding table-layout text-align text-decoration text-indent "
     "text-shadow text-transform vertical-align visibility white-space width word-break "
     "word-spacing word-wrap".split(),
    *(f"border-{s}{p}" for s in _SIDES for p in ("", "-color", "-style", "-width")),
    *(f"border-{v}-{h}-radius" for v in ("top", "bottom") for h in ("left", "right")),
    *(f"{box}-{s}" for box in ("margin", "padding") for s in _SIDES)))
# CSS functions that cannot fetch anything or run code (url() is handled apart;
# image-set(), expression(), element() and the rest are refused).
_SAFE_CSS_FUNCTIONS = frozenset(
    "rgb rgba hsl hsla calc min max clamp linear-gradient radial-gradient "
    "repeating-linear-gradient repeating-radial-gradient".split())
_CSS_IMAGE_PROPS = frozenset(("background", "background-image"))
_LINK_SCHEMES = frozenset(("http", "https", "mailto"))
# Raster images only: data:image/svg+xml can carry script and markup.
_DATA_IMAGE_RE = re.compile(r"^data:image/(png|gif|jpeg|jpg|webp|bmp);base64,[a-z0-9+/=]*$", re.I)
_URL_NOISE_RE = re.compile(r"[\x00-\x20\x7f-\xa0\s`]+")
_SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.-]*):")
# Open-tracking endpoints of common mailers (SendGrid /wf/open, Mailchimp
# /track/open.php, generic .../open?id=) and pixel file names.
_PIXEL_URL_RE = re.compile(
    r"(/wf/open|/track/open|/open(\.(aspx|php|gif))?(\?|$)|/(pixel|beacon)(\.(gif|png))?"
    r"(/|\?|$)|[/_-]1x1\.(gif|png)|/blank\.gif)", re.I)
_LENGTH_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px)?\s*$", re.I)


#: Browsers stop nesting at 512 (Blink) and no real mail comes near either limit.
#: Without them html5lib's O(depth) scope checks and its re-opening of formatting
#: elements (a 6 KB message can expand to 50,000 elements) cost minutes of CPU.
MAX_HTML_DEPTH = 512
MAX_HTML_ELEMENTS = 50_000
TOO_COMPLEX_HTML = "<p>This message is too complex to be shown safely.</p>"


class _TooComplex(Exception):
    """The document exceeds MAX_HTML_DEPTH or MAX_HTML_ELEMENTS."""


class _BoundedTree(type(HTMLParser().tree)):  # html5lib's etree builder, as bleach's
    """html5lib's tree builder, refusing trees deeper or bigger than the limits."""

    created = 0

    def _count(self) -> None:
        """Count one more element; raise _TooComplex past a limit."""
        self.created += 1
        if len(self.openElements) >= MAX_HTML_DEPTH or self.created > MAX_HTML_ELEMENTS:
            raise _TooComplex

    def insertElementNormal(self, token):  # noqa: N802 - html5lib's name
        """Insert as html5lib does, within the limits."""
        self._count()
        return super().insertElementNormal(token)

    def insertElementTable(self, token):  # noqa: N802 - html5lib's name
        """Insert with foster parenting, within the limits."""
        self._count()
        return super().insertElementTable(token)


class _LinearWalker(getTreeWalker("etree")):
    """html5lib's etree walker without its O(siblings) parent look-ups.

    The stock walker re-finds each parent in its parent's child list, so a
    <div> holding 10,000 paragraphs takes seconds to serialise; this is linear.
    """

    def __iter__(self):
        """html5lib tokens for the tree, in document order."""
        stack: list = [self.tree]
        while stack:
            node = stack.pop()
            if isinstance(node, list):  # tokens queued to follow a subtree
                yield from node
            elif node.tag == "<!DOCTYPE>":
                continue  # never part of a body fragment
            elif node.tag in ("DOCUMENT_ROOT", "DOCUMENT_FRAGMENT"):
                yield from self.text(node.text or "")
                stack.extend(reversed(node))
            else:
                yield from self._element(node, stack)

    def _element(self, node: ET.Element, stack: list):
        """Tokens for NODE's start; queue its children, end tag and tail on STACK."""
        tail = list(self.text(node.tail)) if node.tail else []
        if not isinstance(node.tag, str):
            yield self.comment(node.text or "")
            yield from tail
            return
        namespace, name = _split_name(node.tag)
        attrs = {_split_name(key): value for key, value in node.attrib.items()}
        if namespace is None and name in _VOID_ELEMENTS:
            yield from self.emptyTag(None, name, attrs)
            yield from tail
            return
        yield self.startTag(namespace, name, attrs)
        yield from self.text(node.text or "")
        stack.append([self.endTag(namespace, name), *tail])
        stack.extend(reversed(node))


def _split_name(qualified: str) -> tuple[str | None, str]:
    """ElementTree's '{namespace}name' as (namespace, name); (None, name) for HTML."""
    if qualified.startswith("{") and "}" in qualified:
        namespace, name = qualified[1:].split("}", 1)
        return namespace, name
    return None, qualified


@dataclass(frozen=True)
class SanitizedHtml:
    """A body fragment safe for the mail iframe, and what was held back."""

    html: str
    blocked: dict[str, int] = field(default_factory=dict)
    has_remote: bool = False


@dataclass
class _Context:
    """The URL policy of one sanitize call and what it blocked."""

    allow_remote: bool
    cid_map: dict[str, str]
    trusted: frozenset[str]
    blocked: Counter = field(default_factory=Counter)
    has_remote: bool = False


def mail_csp(allow_remote: bool) -> str:
    """The Content-Security-Policy for the iframe document."""
    return MAIL_CSP_REMOTE if allow_remote else MAIL_CSP


def sanitize_html(html: str, *, allow_remote: bool,
                  cid_map: Mapping[str, str]) -> SanitizedHtml:
    """Clean an HTML mail body; cid_map maps Content-ID (no <>) to an app URL."""
    cids = {_cid_key(k): v for k, v in cid_map.items()}
    ctx = _Context(allow_remote, cids, frozenset(cids.values()))
    try:
        root = HTMLParser(_BoundedTree, namespaceHTMLElements=False).parse(html or "")
    except _TooComplex:
        return SanitizedHtml(TOO_COMPLEX_HTML, {"too_complex": 1}, False)
    _count_stylesheets(root, ctx)
    body = root.find("body")
    fragment = _prune_body(body, ctx) if body is not None else ""
    cleaned = _cleaner(ctx).clean(fragment)
    return SanitizedHtml(cleaned, {k: v for k, v in ctx.blocked.items() if v}, ctx.has_remote)


def _count_stylesheets(root: ET.Element, ctx: _Context) -> None:
    """Count remote stylesheets (<link rel=stylesheet>, @import); all are dropped."""
    links = [el for el in root.iter("link") if "stylesheet" in el.get("rel", "").lower()]
    imports = [rule for style in root.iter("style")
               for rule in tinycss2.parse_stylesheet(style.text or "", True, True)
               if rule.type == "at-rule" and rule.lower_at_keyword == "import"]
    ctx.blocked["stylesheets"] += len(links) + len(imports)
    ctx.has_remote |= bool(imports) or any(_is_remote(el.get("href", "")) for el in links)


def _prune_body(body: ET.Element, ctx: _Context) -> str:
    """Apply the tree pass to <body> and serialise it as a fragment."""
    body.tag = "div"
    _body_colours(body)
    _clean_element(body, ctx)
    _prune_children(body, ctx)
    keep = {k: v for k, v in body.attrib.items() if k in ("style", BLOCKED_ATTR)}
    body.attrib.clear()
    body.attrib.update(keep)
    serializer = HTMLSerializer(quote_attr_values="always", use_best_quote_char=False,
                                omit_optional_tags=False, escape_lt_in_attrs=True,
                                sanitize=False, alphabetical_attributes=True,
                                escape_rcdata=True)  # never emit raw text bleach could re-parse
    text = serializer.render(_LinearWalker(body))
    if body.attrib:  # keep the wrapper only when it carries the body's look
        return text
    return text[len("<div>"):-len("</div>")]


def _body_colours(body: ET.Element) -> None:
    """Turn <body bgcolor/text> into CSS, as a <div> ignores those attributes."""
    extra = []
    for attr, prop in (("bgcolor", "background-color"), ("text", "color")):
        value = body.attrib.pop(attr, "").strip()
        if re.fullmatch(r"#?[0-9a-zA-Z]{1,20}", value):
            extra.append(f"{prop}: {value}")
    if extra:
        body.set("style", "; ".join(extra + [body.get("style", "")]))


def _prune_children(top: ET.Element, ctx: _Context) -> None:
    """Drop dangerous subtrees, clean the rest (iterative: mail can nest deeply)."""
    stack = [top]
    while stack:
        parent = stack.pop()
        kept: list[ET.Element] = []
        for child in list(parent):
            if _keep(child, ctx):
                kept.append(child)
                stack.append(child)
            elif child.tail:  # the text after a dropped element stays
                if kept:
                    kept[-1].tail = (kept[-1].tail or "") + child.tail
                else:
                    parent.text = (parent.text or "") + child.tail
        parent[:] = kept  # one rebuild: removing one by one is O(n^2)


def _keep(el: ET.Element, ctx: _Context) -> bool:
    """Clean EL in place; False when it must go with all its content."""
    tag = el.tag
    # Comments (incl. conditional comments), SVG and MathML (namespaced tags)
    # and DROP_WITH_CONTENT go with everything inside them.
    if not isinstance(tag, str) or tag.startswith("{") or tag.lower() in DROP_WITH_CONTENT:
        return False
    if tag in _RAWTEXT_AS_PRE:
        el.tag = "pre"  # their content is text; as <pre> it is escaped as text
    return _clean_element(el, ctx)


def _clean_element(el: ET.Element, ctx: _Context) -> bool:
    """Apply the URL and CSS policy to EL's attributes; False drops EL."""
    for name in [n for n in el.attrib if n.lower().startswith("on") or ":" in n]:
        del el.attrib[name]  # handlers and namespaced (xlink:href) attributes
    if "style" in el.attrib:
        style = _clean_style(el.attrib.pop("style"), el, ctx)
        if style:
            el.set("style", style)
    if "background" in el.attrib:
        _background_attr(el, ctx)
    if el.tag == "img":
        return _clean_img(el, ctx)
    if el.tag == "a":
        _clean_link(el)
    return True


def _clean_link(el: ET.Element) -> None:
    """Keep http/https/mailto targets (relative ones have no base here), in a new tab."""
    href = el.attrib.pop("href", "").strip()
    el.attrib.pop("target", None)
    el.attrib.pop("rel", None)
    if href and _scheme(href) is None and _squash(href).startswith("//"):
        href = "https:" + href
    if href and _scheme(href) in _LINK_SCHEMES:
        el.attrib.update(href=href, target="_blank", rel="noopener noreferrer")


def _clean_img(el: ET.Element, ctx: _Context) -> bool:
    """Resolve src (cid/remote/data) and srcset; False when EL is a tracker."""
    src = el.attrib.pop("src", "")
    srcset = el.attrib.pop("srcset", "")  # dropped always: src is enough for mail
    el.attrib.pop("sizes", None)
    remote = _is_remote(src) or any(_is_remote(c) for c in re.split(r"[\s,]+", srcset))
    ctx.has_remote |= remote
    if remote and _is_tracker(el, src):
        ctx.blocked["trackers"] += 1
        return False
    url = _resolve_image(src, ctx)[0] if src else None
    if url:
        el.set("src", url)
    elif remote and not ctx.allow_remote:
        ctx.blocked["images"] += 1
        el.set(BLOCKED_ATTR, "1")
    return True


def _resolve_image(url: str, ctx: _Context) -> tuple[str | None, str]:
    """Apply the image URL policy: (URL to use or None, 'ok'|'remote'|'bad')."""
    url = url.strip()
    if url in ctx.trusted:  # already rewritten by us: keeps sanitising idempotent
        return url, "ok"
    scheme = _scheme(url)
    if scheme == "cid":
        mapped = _lookup_cid(url[url.index(":") + 1:], ctx.cid_map)
        return (mapped, "ok") if mapped else (None, "bad")
    if _is_remote(url):
        ctx.has_remote = True
        if not ctx.allow_remote:
            return None, "remote"
        return ("https:" + url if url.startswith("//") else url), "ok"
    compact = _URL_NOISE_RE.sub("", url)  # base64 is case-sensitive: no _squash
    if scheme == "data" and _DATA_IMAGE_RE.match(compact):
        return compact, "ok"
    return None, "bad"


def _lookup_cid(value: str, cid_map: Mapping[str, str]) -> str | None:
    """The app URL for a cid: URL's Content-ID (RFC 2392: %-encoded), or None."""
    key = _cid_key(unquote(value))
    return cid_map.get(key) or {k.casefold(): v for k, v in cid_map.items()}.get(key.casefold())


def _cid_key(content_id: str) -> str:
    """A Content-ID without angle brackets or surrounding space."""
    return content_id.strip().strip("<>").strip()


def _squash(url: str) -> str:
    """URL as a browser reads it (no blanks or controls, '\\' as '/'), lower-cased."""
    return _URL_NOISE_RE.sub("", unescape(url)).replace("\\", "/").lower()


def _scheme(url: str) -> str | None:
    """The lower-cased scheme of URL after browser-style normalisation, or None."""
    match = _SCHEME_RE.match(_squash(url))
    return match.group(1) if match else None


def _is_remote(url: str) -> bool:
    """True for URLs the browser would fetch from the network."""
    return bool(url) and (_scheme(url) in ("http", "https") or _squash(url).startswith("//"))


def _is_tracker(el: ET.Element, src: str) -> bool:
    """A remote image that is 1x1, zero-sized, hidden or a known pixel URL."""
    sizes = [_length(el.get("width")), _length(el.get("height"))]
    hidden = "hidden" in el.attrib
    for decl in tinycss2.parse_declaration_list(el.get("style", ""), True, True):
        if decl.type != "declaration":
            continue
        value = tinycss2.serialize(decl.value).strip().lower()
        if decl.lower_name in ("width", "height", "max-width", "max-height"):
            sizes.append(_length(value))
        hidden |= (decl.lower_name, value) in (("display", "none"), ("visibility", "hidden"),
                                               ("opacity", "0"))
    known = [s for s in sizes if s is not None]
    tiny = bool(known) and (min(known) == 0 or max(known) <= 1)
    return hidden or tiny or bool(_PIXEL_URL_RE.search(src))


def _length(value: str | None) -> float | None:
    """A pixel length from an attribute or CSS value ('1', '1px'), else None."""
    match = _LENGTH_RE.match(value or "")
    return float(match.group(1)) if match else None


def _background_attr(el: ET.Element, ctx: _Context) -> None:
    """Turn the legacy background="" attribute into CSS, or block it."""
    url, verdict = _resolve_image(el.attrib.pop("background"), ctx)
    if url:
        css = f"background-image: {_css_url(url)}"
        el.set("style", "; ".join(filter(None, (el.get("style"), css))))
    elif verdict == "remote":
        ctx.blocked["images"] += 1
        el.set(BLOCKED_ATTR, "1")


def _clean_style(style: str, el: ET.Element, ctx: _Context) -> str:
    """A style attribute with allowed properties and safe values only."""
    kept = []
    for decl in tinycss2.parse_declaration_list(style, skip_comments=True,
                                                 skip_whitespace=True):
        if decl.type == "at-rule" and decl.lower_at_keyword == "import":
            ctx.blocked["stylesheets"] += 1
            ctx.has_remote = True
        if decl.type != "declaration" or decl.lower_name not in ALLOWED_CSS:
            continue
        value = _css_value(decl, el, ctx)
        if value:
            kept.append(f"{decl.lower_name}: {value}{' !important' if decl.important else ''}")
    return "; ".join(kept)


def _css_value(decl, el: ET.Element, ctx: _Context) -> str | None:
    """The serialised value of DECL, or None when it may fetch or run anything."""
    parts: list[str | None] = []
    for token in decl.value:
        url = _css_url_arg(token)
        if url is not None:
            if decl.lower_name not in _CSS_IMAGE_PROPS:
                return None
            resolved, verdict = _resolve_image(url, ctx)
            if not resolved:
                if verdict == "remote":
                    ctx.blocked["images"] += 1
                    el.set(BLOCKED_ATTR, "1")
                return None
            parts.append(_css_url(resolved))
        elif token.type == "string":
            parts.append(_css_string(token.value))
        elif not _css_token_safe(token):
            return None
        else:
            parts.append(token.serialize())
    if None in parts:
        return None
    value = "".join(parts).strip()
    # A '<' could only be an attempt to leave the attribute or a <style> block.
    return value if value and "<" not in value and "\\" not in value else None


def _css_url_arg(token) -> str | None:
    """The URL if TOKEN is url(...) in either syntax, else None."""
    if token.type == "url":
        return token.value
    if token.type == "function" and token.lower_name == "url":
        strings = [t.value for t in token.arguments if t.type == "string"]
        return strings[0] if strings else ""
    return None


def _css_token_safe(token) -> bool:
    """True when TOKEN and everything nested in it cannot fetch or execute."""
    if token.type in ("url", "error", "at-keyword", "string"):
        return False
    if token.type == "function":
        if token.lower_name not in _SAFE_CSS_FUNCTIONS:
            return False
        return all(_css_token_safe(t) for t in token.arguments)
    if token.type in ("() block", "[] block", "{} block"):
        return all(_css_token_safe(t) for t in token.content)
    return True


def _css_url(url: str) -> str:
    """url('URL') with quotes, backslashes, '<' and spaces %-encoded."""
    return f"url('{quote(url, safe=':/?#[]@!$&()*+,;=%-._~')}')"


def _css_string(value: str) -> str | None:
    """VALUE as a single-quoted CSS string, or None if it needs escapes.

    Single quotes because the attribute is double-quoted: bleach re-reads
    style values without decoding &quot;, which would end the declaration.
    """
    return None if re.search(r"['\\\n\r\f<]", value) else f"'{value}'"


class _DecodedCSSSanitizer(CSSSanitizer):
    """bleach's CSS sanitizer, fed the value a browser parses (entities decoded).

    bleach passes style values with entities unresolved, so 'A&amp;B' would
    come out double-escaped (and a change on every pass breaks idempotency).
    """

    def sanitize_css(self, style: str) -> str:
        """Sanitise STYLE after resolving character references."""
        return super().sanitize_css(unescape(style))


def _cleaner(ctx: _Context) -> bleach.Cleaner:
    """A fresh Cleaner bound to CTX (bleach's parser keeps state: not thread-safe)."""
    def attr_ok(tag: str, name: str, value: str) -> bool:
        """bleach's allow-list check, re-stating the tree pass's URL policy."""
        if name == BLOCKED_ATTR:
            return value == "1"
        if name not in _GLOBAL_ATTRS and name not in _TAG_ATTRS.get(tag, ()):
            return False
        if name == "href":
            return _scheme(value) in _LINK_SCHEMES
        if name == "src":  # bleach sees attribute values with entities unresolved
            src = unescape(value)
            return (src in ctx.trusted or bool(_DATA_IMAGE_RE.match(src))
                    or (ctx.allow_remote and _scheme(src) in ("http", "https")))
        return True

    cleaner = bleach.Cleaner(
        tags=ALLOWED_TAGS, attributes=attr_ok, strip=True, strip_comments=True,
        protocols={"http", "https", "mailto", "data"},
        css_sanitizer=_DecodedCSSSanitizer(allowed_css_properties=ALLOWED_CSS,
                                           allowed_svg_properties=frozenset()))
    cleaner.walker = _LinearWalker
    return cleaner


_TEXT_LINK_RE = re.compile(
    r"(?P<url>\b(?:https?://|mailto:)[^\s<>\"]+)"
    r"|(?P<mail>\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b)", re.I)
_QUOTE_RE = re.compile(r"^((?:>[ \t]?)+)")


def text_to_html(text: str) -> str:
    """Escape a plain-text body, link URLs, fold '>' quotes into <blockquote>s.

    The result keeps newlines, so show it with CSS `white-space: pre-wrap`.

    >>> text_to_html("Hi <b>\\n> see https://example.org.")
    '<div class="mail-text">Hi &lt;b&gt;<blockquote class="quoted">see <a href=...'
    """
    out, depth, pending = ['<div class="mail-text">'], 0, []
    for line in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        match = _QUOTE_RE.match(line)
        level = match.group(1).count(">") if match else 0
        if level != depth:
            out.append("\n".join(pending))
            pending = []
            out.append('<blockquote class="quoted">' * (level - depth) if level > depth
                       else "</blockquote>" * (depth - level))
            depth = level
        pending.append(_linkify(line[match.end():] if match else line))
    out.append("\n".join(pending))
    out.append("</blockquote>" * depth + "</div>")
    return "".join(out)


def _linkify(line: str) -> str:
    """LINE escaped, with http/https/mailto URLs and addresses as safe links."""
    parts, last = [], 0
    for match in _TEXT_LINK_RE.finditer(line):
        target = match.group(0)
        trimmed = target.rstrip(".,;:!?'\")]}")
        if target.count("(") > trimmed.count(")") and target[len(trimmed):].startswith(")"):
            trimmed += ")"  # keep a closing paren that belongs to the URL (Wikipedia)
        href = trimmed if match.group("url") else "mailto:" + trimmed
        parts.append(escape(line[last:match.start()]))
        parts.append(f'<a href="{escape(href)}" target="_blank" '
                     f'rel="noopener noreferrer">{escape(trimmed)}</a>')
        last = match.start() + len(trimmed)
    parts.append(escape(line[last:]))
    return "".join(parts)
