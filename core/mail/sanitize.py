"""Make HTML mail safe to show, and plain-text mail readable, in the reading view.

The sandboxed iframe plus mail_csp() is the real boundary; this is the second wall.
Lexbor (HTML5 in C, through selectolax) parses the document once, as a browser would
(html5lib's bounded builder takes what may nest or grow past the limits); one walk of
that tree applies the whole policy, then it is serialised with everything escaped:
- dangerous elements go *with their content* (bleach's strip=True would keep the
  text of <style>/<title>), all SVG/MathML goes (namespace-confusion mXSS);
- the URL policy applies: remote images blocked or allowed, cid: rewritten,
  trackers removed, CSS url() checked, links opened in a new tab;
- the allow-lists that bleach.Cleaner applied as a second pass (which parsed and
  serialised the document a second time): other elements are unwrapped (their
  content stays, as bleach's strip=True), attributes not listed for the element
  go, and href/src are checked once more against the schemes allowed.

The parts live beside this module (sanitize_tree: parsers and serialiser; sanitize_depth:
which parser; sanitize_urls: URL policy; sanitize_css: CSS policy; sanitize_text: plain
text); import from here.

>>> sanitize_html('<p onclick="x()">Hi<img src="https://t.example/a.png">',
...               allow_remote=False, cid_map={}).blocked
{'images': 1}
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import bleach
import tinycss2

from .sanitize_css import ALLOWED_CSS, clean_style, css_url
from .sanitize_text import text_to_html
from .sanitize_tree import MAX_HTML_DEPTH, MAX_HTML_ELEMENTS, TooComplex, parse_document, serialize
from .sanitize_urls import (BLOCKED_ATTR, DATA_IMAGE_RE, LINK_SCHEMES, UrlPolicy, cid_key,
                            is_remote, is_tracker, squash, url_scheme)

__all__ = ["ALLOWED_CSS", "ALLOWED_TAGS", "BLOCKED_ATTR", "DROP_WITH_CONTENT", "MAX_HTML_DEPTH",
           "MAX_HTML_ELEMENTS", "TOO_COMPLEX_HTML", "SanitizedHtml", "clean_fragment", "mail_csp",
           "sanitize_html", "text_to_html"]

# `sandbox` too: opened directly rather than in the page's iframe, the body still gets
# an opaque origin and no scripts.
_CSP_COMMON = ("sandbox allow-popups allow-popups-to-escape-sandbox; "
               "default-src 'none'; script-src 'none'; object-src 'none'; "
               "frame-src 'none'; child-src 'none'; connect-src 'none'; font-src 'none'; "
               "media-src 'none'; form-action 'none'; base-uri 'none'; "
               "frame-ancestors 'self'; ")
# The mail's own CSS lives in style attributes only (the sanitiser drops <style> and
# <link>): inline styles are allowed for attributes, and the one stylesheet element is
# the app's mailbody.css, admitted by this response's nonce, so a <style> or <link>
# that slipped past the sanitiser applies nothing. `style-src` is the fallback of
# browsers without CSP3's -attr/-elem split: the mail's styles, without ours.
_CSP_STYLE = ("style-src 'unsafe-inline'; style-src-attr 'unsafe-inline'; "
              "style-src-elem 'nonce-{nonce}'; ")
_IMG_LOCAL = "img-src 'self' data:"
# When the reader chose to load remote images, only img-src widens.
_IMG_REMOTE = _IMG_LOCAL + " https: http:"
TOO_COMPLEX_HTML = "<p>This message is too complex to be shown safely.</p>"

# Removed together with everything inside them: their text is never content
# (style/script/title), or their content is a parser-differential risk
# (noscript/template/xml, the mXSS class), or they embed or fetch things.
DROP_WITH_CONTENT = frozenset(
    "script style title head template noscript xml iframe frame frameset noframes noembed "
    "object embed applet param base meta link audio video source track picture canvas "
    "map area select datalist input portal".split())
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


@dataclass(frozen=True)
class SanitizedHtml:
    """A body fragment safe for the mail iframe, and what was held back."""

    html: str
    blocked: dict[str, int] = field(default_factory=dict)
    has_remote: bool = False


def mail_csp(allow_remote: bool, style_nonce: str) -> str:
    """The Content-Security-Policy for the iframe document whose stylesheet has STYLE_NONCE."""
    return (_CSP_COMMON + _CSP_STYLE.format(nonce=style_nonce)
            + (_IMG_REMOTE if allow_remote else _IMG_LOCAL))


def print_csp(allow_remote: bool, nonce: str) -> str:
    """The print page's policy: the mail frame's, plus our one script (it calls print())
    admitted by NONCE, and the modal print dialog the sandbox would otherwise refuse."""
    return (mail_csp(allow_remote, nonce)
            .replace("sandbox allow-popups", "sandbox allow-scripts allow-modals allow-popups", 1)
            .replace("script-src 'none'", f"script-src 'nonce-{nonce}'", 1))


def sanitize_html(html: str, *, allow_remote: bool,
                  cid_map: Mapping[str, str]) -> SanitizedHtml:
    """Clean an HTML mail body; cid_map maps Content-ID (no <>) to an app URL."""
    cids = {cid_key(k): v for k, v in cid_map.items()}
    policy = UrlPolicy(allow_remote, cids, frozenset(cids.values()))
    try:
        root = parse_document(html or "")
    except TooComplex:
        return SanitizedHtml(TOO_COMPLEX_HTML, {"too_complex": 1}, False)
    _count_stylesheets(root, policy)
    body = root.find("body")
    cleaned = _prune_body(body, policy) if body is not None else ""
    return SanitizedHtml(cleaned, {k: v for k, v in policy.blocked.items() if v},
                         policy.has_remote)


def clean_fragment(html: str, tags: Iterable[str],
                   attributes: Mapping[str, Iterable[str]]) -> str:
    """HTML we generated (e.g. from Markdown) cut down to TAGS and their ATTRIBUTES.

    Disallowed tags are unwrapped (their text stays), comments go, and links keep
    only http/https/mailto targets. Not for received mail: use sanitize_html.
    """
    return bleach.clean(html, tags=frozenset(tags), attributes=dict(attributes),
                        protocols=LINK_SCHEMES, strip=True, strip_comments=True)


def _count_stylesheets(root: ET.Element, policy: UrlPolicy) -> None:
    """Count remote stylesheets (<link rel=stylesheet>, @import); all are dropped."""
    links = [el for el in root.iter("link") if "stylesheet" in el.get("rel", "").lower()]
    imports = [rule for style in root.iter("style")
               for rule in tinycss2.parse_stylesheet(style.text or "", True, True)
               if rule.type == "at-rule" and rule.lower_at_keyword == "import"]
    policy.blocked["stylesheets"] += len(links) + len(imports)
    policy.has_remote |= bool(imports) or any(is_remote(el.get("href", "")) for el in links)


def _prune_body(body: ET.Element, policy: UrlPolicy) -> str:
    """Apply the tree pass to <body> and serialise it as a fragment."""
    body.tag = "div"
    _body_colours(body)
    _clean_element(body, policy)
    _prune_children(body, policy)
    keep = {k: v for k, v in body.attrib.items() if k in ("style", BLOCKED_ATTR)}
    body.attrib.clear()
    body.attrib.update(keep)
    text = serialize(body)
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


def _prune_children(top: ET.Element, policy: UrlPolicy) -> None:
    """Drop dangerous subtrees, unwrap elements not allowed, clean the rest.

    Iterative, as mail can nest deeply; an unwrapped element's children take its
    place and are judged in turn.
    """
    stack = [top]
    while stack:
        parent = stack.pop()
        kept: list[ET.Element] = []
        pending = list(reversed(parent))
        while pending:
            child = pending.pop()
            if not _keep(child, policy):
                _add_text(parent, kept, child.tail)  # the text after it stays
            elif child.tag in ALLOWED_TAGS:
                _allowed_attributes(child, policy)
                kept.append(child)
                stack.append(child)
            else:
                _add_text(parent, kept, child.text)
                inner = list(child)
                if inner:
                    inner[-1].tail = (inner[-1].tail or "") + (child.tail or "")
                else:
                    _add_text(parent, kept, child.tail)
                pending.extend(reversed(inner))
        parent[:] = kept  # one rebuild: removing one by one is O(n^2)


def _add_text(parent: ET.Element, kept: list[ET.Element], text: str | None) -> None:
    """Append TEXT after the last kept child (or to PARENT's own text)."""
    if not text:
        return
    if kept:
        kept[-1].tail = (kept[-1].tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def _keep(el: ET.Element, policy: UrlPolicy) -> bool:
    """Clean EL in place; False when it must go with all its content."""
    tag = el.tag
    # Comments (incl. conditional comments), SVG and MathML (namespaced tags)
    # and DROP_WITH_CONTENT go with everything inside them.
    if not isinstance(tag, str) or tag.startswith("{") or tag.lower() in DROP_WITH_CONTENT:
        return False
    if tag in _RAWTEXT_AS_PRE:
        el.tag = "pre"  # their content is text; as <pre> it is escaped as text
    return _clean_element(el, policy)


def _clean_element(el: ET.Element, policy: UrlPolicy) -> bool:
    """Apply the URL and CSS policy to EL's attributes; False drops EL."""
    for name in [n for n in el.attrib if n.lower().startswith("on") or ":" in n]:
        del el.attrib[name]  # handlers and namespaced (xlink:href) attributes
    if "style" in el.attrib:
        style = clean_style(el.attrib.pop("style"), el, policy)
        if style:
            el.set("style", style)
    if "background" in el.attrib:
        _background_attr(el, policy)
    if el.tag == "img":
        return _clean_img(el, policy)
    if el.tag == "a":
        _clean_link(el)
    return True


def _clean_link(el: ET.Element) -> None:
    """Keep http/https/mailto targets (relative ones have no base here), in a new tab."""
    href = el.attrib.pop("href", "").strip()
    el.attrib.pop("target", None)
    el.attrib.pop("rel", None)
    if href and url_scheme(href) is None and squash(href).startswith("//"):
        href = "https:" + href
    if href and url_scheme(href) in LINK_SCHEMES:
        el.attrib.update(href=href, target="_blank", rel="noopener noreferrer")


def _clean_img(el: ET.Element, policy: UrlPolicy) -> bool:
    """Resolve src (cid/remote/data) and srcset; False when EL is a tracker."""
    src = el.attrib.pop("src", "")
    srcset = el.attrib.pop("srcset", "")  # dropped always: src is enough for mail
    el.attrib.pop("sizes", None)
    remote = is_remote(src) or any(is_remote(c) for c in re.split(r"[\s,]+", srcset))
    policy.has_remote |= remote
    if remote and is_tracker(el, src):
        policy.blocked["trackers"] += 1
        return False
    url = policy.resolve_image(src)[0] if src else None
    if url:
        el.set("src", url)
    elif remote and not policy.allow_remote:
        policy.block_image(el)
    return True


def _background_attr(el: ET.Element, policy: UrlPolicy) -> None:
    """Turn the legacy background="" attribute into CSS, or block it."""
    url, verdict = policy.resolve_image(el.attrib.pop("background"))
    if url:
        css = f"background-image: {css_url(url)};"  # after clean_style's "a: b;" list
        el.set("style", " ".join(filter(None, (el.get("style"), css))))
    elif verdict == "remote":
        policy.block_image(el)


def _allowed_attributes(el: ET.Element, policy: UrlPolicy) -> None:
    """Keep only the attributes allowed on EL, with href/src of allowed schemes."""
    for name, value in list(el.attrib.items()):
        if not _attribute_ok(el.tag, name, value, policy):
            del el.attrib[name]


def _attribute_ok(tag: str, name: str, value: str, policy: UrlPolicy) -> bool:
    """The allow-list check bleach's pass made, re-stating the URL policy."""
    if name == BLOCKED_ATTR:
        return value == "1"
    if name not in _GLOBAL_ATTRS and name not in _TAG_ATTRS.get(tag, ()):
        return False
    if name == "href":
        return url_scheme(value) in LINK_SCHEMES
    if name == "src":
        return (value in policy.trusted or bool(DATA_IMAGE_RE.match(value))
                or (policy.allow_remote and url_scheme(value) in ("http", "https")))
    return True
