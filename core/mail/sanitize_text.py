"""Plain-text mail bodies as HTML for the reading view: escaped, linked, quotes folded."""
from __future__ import annotations

import re
from html import escape

_TEXT_LINK_RE = re.compile(
    r"(?P<url>\b(?:https?://|mailto:)[^\s<>\"]+)"
    # Bounded parts: an unbounded local part made linking a long line quadratic
    # (10 s for 64 KB of "a.a.a."), enough to tie up a server thread.
    r"|(?P<mail>\b[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}\b)", re.I)
_QUOTE_RE = re.compile(r"^((?:>[ \t]?)+)")
# Punctuation that ends a sentence or a quotation rather than a URL (as mail clients do).
_TRAILING = ".,;:!?'"
_CLOSERS = {")": "(", "]": "[", "}": "{"}


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
        trimmed = _trim(match.group(0))
        href = trimmed if match.group("url") else "mailto:" + trimmed
        parts.append(escape(line[last:match.start()]))
        parts.append(f'<a href="{escape(href)}" target="_blank" '
                     f'rel="noopener noreferrer">{escape(trimmed)}</a>')
        last = match.start() + len(trimmed)
    parts.append(escape(line[last:]))
    return "".join(parts)


def _trim(url: str) -> str:
    """URL without the punctuation that follows it in prose.

    A closing bracket stays when it closes one opened inside the URL, as in
    https://en.wikipedia.org/wiki/Foo_(bar) or .../A_(b_(c)). Counted once, so a
    line of 64 KB of ")" costs one pass, not one per character.
    """
    unclosed = {closer: url.count(closer) - url.count(opener)
                for closer, opener in _CLOSERS.items()}
    end = len(url)
    while end and (url[end - 1] in _TRAILING or url[end - 1] in _CLOSERS):
        last = url[end - 1]
        if last in _CLOSERS:
            if unclosed[last] <= 0:
                break  # balanced: this bracket is part of the URL
            unclosed[last] -= 1
        end -= 1
    return url[:end]
