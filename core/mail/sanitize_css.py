"""The CSS policy of core.mail.sanitize: allowed properties, safe values, url() checks.

Only style attributes are kept (every <style> element goes with its content);
their values are rebuilt token by token with tinycss2, and a value that could
fetch or run anything loses its whole declaration.
"""
from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from urllib.parse import quote

import tinycss2

from .sanitize_urls import UrlPolicy

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


def clean_style(style: str, el: ET.Element, policy: UrlPolicy) -> str:
    """A style attribute with allowed properties and safe values only."""
    cleaned = _clean_plain_style(style) if len(style) <= _MEMO_MAX_LENGTH else None
    return _clean_declarations(style, el, policy) if cleaned is None else cleaned


# Newsletters and shop mail repeat the same few style attributes on every cell; tinycss2
# was most of the sanitising time. A style with no url(), no at-rule and no escape
# (which could spell either) never consults the URL policy, so its result depends on
# its text alone and can be remembered (short ones only: the memo stays small).
_NEEDS_POLICY_RE = re.compile(r"url|[@\\]", re.I)
_MEMO_MAX_LENGTH = 1024


@functools.lru_cache(maxsize=4096)
def _clean_plain_style(style: str) -> str | None:
    """clean_style of a style that cannot reach the URL policy; None for one that may."""
    return None if _NEEDS_POLICY_RE.search(style) else _clean_declarations(style, None, None)


def _clean_declarations(style: str, el: ET.Element | None, policy: UrlPolicy | None) -> str:
    """The declarations of STYLE that are allowed, rebuilt from their tokens."""
    kept = []
    for decl in tinycss2.parse_declaration_list(style, skip_comments=True,
                                                 skip_whitespace=True):
        if decl.type == "at-rule" and decl.lower_at_keyword == "import":
            policy.blocked["stylesheets"] += 1
            policy.has_remote = True
        if decl.type != "declaration" or decl.lower_name not in ALLOWED_CSS:
            continue
        value = _css_value(decl, el, policy)
        if value:
            kept.append(f"{decl.lower_name}: {value}{' !important' if decl.important else ''};")
    return " ".join(kept)  # "a: b; c: d;" as bleach's CSS sanitizer wrote it


def _css_value(decl, el: ET.Element, policy: UrlPolicy) -> str | None:
    """The serialised value of DECL, or None when it may fetch or run anything."""
    parts: list[str | None] = []
    for token in decl.value:
        url = _css_url_arg(token)
        if url is not None:
            if decl.lower_name not in _CSS_IMAGE_PROPS:
                return None
            resolved, verdict = policy.resolve_image(url)
            if not resolved:
                if verdict == "remote":
                    policy.block_image(el)
                return None
            parts.append(css_url(resolved))
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


def css_url(url: str) -> str:
    """url("URL") with quotes, backslashes, '<' and spaces %-encoded."""
    return 'url("' + quote(url, safe=":/?#[]@!$&()*+,;=%-._~") + '")'


def _css_string(value: str) -> str | None:
    """VALUE as a double-quoted CSS string (as bleach's pass wrote it), or None if it needs escapes."""
    return None if re.search(r"['\"\\\n\r\f<]", value) else f'"{value}"'
