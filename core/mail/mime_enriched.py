"""text/enriched (RFC 1896) as a small HTML fragment for the reading view.

Every character of the text is escaped; the only markup written is the fixed tags
below, and the result still goes through the HTML sanitiser like any HTML body.

>>> enriched_to_html("<bold>Hi</bold>\\r\\nthere <<3\\r\\n\\r\\nBye")
'<div class="enriched" style="white-space: pre-wrap"><b>Hi</b> there &lt;3<br>Bye</div>'
"""
from __future__ import annotations

import re
from html import escape

# The formatting commands shown as HTML; every other command (color, fontfamily, flushleft,
# paraindent, lang, unknown ones) is dropped and its text kept, as §5 asks of a viewer.
_TAGS = {"bold": "b", "italic": "i", "underline": "u", "fixed": "tt", "bigger": "big",
         "smaller": "small", "center": "center", "excerpt": "blockquote"}
# §2: a command is <name> or </name>, the name 1-60 letters, digits or hyphens; "<<" is "<".
_TOKEN_RE = re.compile(r"(?P<lt><<)|<(?P<close>/?)(?P<name>[A-Za-z0-9-]{1,60})>|(?P<nl>\n+)")


def enriched_to_html(text: str) -> str:
    """TEXT (text/enriched, newlines normalised or CRLF) as escaped HTML with simple markup."""
    # pre-wrap: runs of spaces are the sender's, as in plain text; no newline is left to show.
    out, open_tags = ['<div class="enriched" style="white-space: pre-wrap">'], []
    nofill = param = 0
    for piece, match in _pieces(text.replace("\r\n", "\n")):
        if match is None:
            out.append("" if param else escape(piece))
        elif match["name"]:
            name, closing = match["name"].lower(), bool(match["close"])
            if name == "param":
                param = max(param + (-1 if closing else 1), 0)  # §4: parameters are not text
            elif name == "nofill":
                nofill = max(nofill + (-1 if closing else 1), 0)
            elif name in _TAGS and not param:
                out.append(_close(open_tags, name) if closing else _open(open_tags, name))
        elif param:
            continue
        elif match["lt"]:
            out.append("&lt;")
        else:  # §3: outside nofill one newline is a space and n newlines are n-1 breaks
            count = len(match["nl"])
            out.append("<br>" * count if nofill else "<br>" * (count - 1) or " ")
    out.extend(f"</{_TAGS[name]}>" for name in reversed(open_tags))
    return "".join(out) + "</div>"


def _pieces(text: str):
    """(text, None) for plain runs and (token, match) for commands, '<<' and newlines."""
    last = 0
    for match in _TOKEN_RE.finditer(text):
        if match.start() > last:
            yield text[last:match.start()], None
        yield match.group(), match
        last = match.end()
    if last < len(text):
        yield text[last:], None


def _open(open_tags: list[str], name: str) -> str:
    open_tags.append(name)
    return f"<{_TAGS[name]}>"


def _close(open_tags: list[str], name: str) -> str:
    """Close NAME and whatever was opened inside it (badly nested input); '' if it is not open."""
    if name not in open_tags:
        return ""
    closed = []
    while open_tags:
        inner = open_tags.pop()
        closed.append(f"</{_TAGS[inner]}>")
        if inner == name:
            break
    return "".join(closed)
