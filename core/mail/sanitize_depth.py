"""An upper estimate of how deep and big a browser would build an HTML document, from its tags.

Lexbor (the fast parser behind core.mail.sanitize_tree) follows HTML5 to the letter and
has no limits: HTML5's tree construction scans the stack of open elements for many
tags (40,000 nested <div>s, 200 KB, cost it 4 s) and re-creates unclosed formatting
elements after each token (6 KB can become 240,000 elements). The sanitiser refuses
trees deeper or bigger than its limits anyway, so before Lexbor sees a document this
linear scan estimates both, and a document that may come near a limit is parsed by
the bounded html5lib builder instead, which stops at the limit.

The estimate must never be lower than the real depth, so it errs one way only: every
start tag of a non-void element counts; an end tag closes only what HTML5 certainly
closes (its own element on top, below nothing but elements whose end tags are
optional); formatting end tags (the adoption agency may keep their content open)
close only their own element on top. Comments and bogus comments are skipped exactly
as HTML5's tokenizer skips them; inside raw text (<style>, <script>, ...), whose end a
regex may misjudge, start tags still count and end tags are ignored.
"""
from __future__ import annotations

import re

_WS = r"\t\n\f\r "
# One token in document order: a tag with HTML5's attribute grammar (a quote opens a
# value only after '='; tried first, as most tokens are tags), comment, abrupt empty
# comment, CDATA or bogus comment. Possessive quantifiers keep it linear on hostile input.
_TOKEN_RE = re.compile(rf"""
    <(?P<end>/?)(?P<name>[a-zA-Z][^{_WS}/>]*+)
      (?:[{_WS}/]++|[^{_WS}/>][^{_WS}/>=]*+(?:[{_WS}]*+=[{_WS}]*+(?:"[^"]*+"|'[^']*+'|[^{_WS}>]*+))?+)*+
      (?:>|\Z)
  | <!---?>
  | <!--.*?(?:--!?>|\Z)
  | (?P<cdata><!\[CDATA\[.*?(?:\]\]>|\Z))
  | <(?:[!?]|/(?![a-zA-Z]))[^>]*+(?:>|\Z)
""", re.S | re.X)
_START_TAG_RE = re.compile(r"<[a-zA-Z]")
_VOID = frozenset("area base basefont bgsound br col embed frame hr image img input keygen "
                  "link meta param source track wbr".split())
_IGNORED = frozenset(("html", "head", "body"))  # never nested: HTML5 merges repeats
_RAW_TEXT = frozenset("script style textarea title xmp iframe noembed noframes noscript "
                       "plaintext".split())
_FORMATTING = frozenset("a b big code em font i nobr s small strike strong tt u".split())
# Elements whose end tag HTML5 implies (generate implied end tags, table sections).
_IMPLIED_END = frozenset("p li dt dd option optgroup rb rp rt rtc tr td th tbody thead tfoot "
                         "caption colgroup".split())
# What a start tag closes when it is the current node (HTML5 "in body"/table modes);
# not <table>, which leaves a <p> open in quirks mode.
_CLOSES = {"li": ("li", "p"), "dt": ("dt", "dd", "p"), "dd": ("dt", "dd", "p"),
           "option": ("option",), "optgroup": ("option",), "td": ("td", "th"),
           "th": ("td", "th"), "tr": ("td", "th", "tr"), "tbody": ("td", "th", "tr"),
           "thead": ("td", "th", "tr"), "tfoot": ("td", "th", "tr")}
_CLOSES_P = frozenset("address article aside blockquote center details dialog dir div dl "
                      "fieldset figcaption figure footer header hgroup main menu nav ol p pre "
                      "listing section summary ul form h1 h2 h3 h4 h5 h6".split())
_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
# A cell's end tag pops everything in it, unless a table or template lies between
# (HTML5's "table scope"); the cell's marker also drops its formatting elements.
_CELLS = frozenset(("td", "th", "caption"))
_TABLE_SCOPE = frozenset(("table", "template"))


def may_exceed(html: str, max_depth: int, max_elements: int) -> bool:
    """True when a browser might build HTML deeper or bigger than the limits (never False when it would).

    Each formatting element still open may be re-created (reconstructed) before and
    after every token, so each token also counts one element per open formatting element.
    """
    stack: list[str] = []
    formatting = elements = pos = 0
    while pos < len(html):
        for match in _TOKEN_RE.finditer(html, pos):
            end, name = match.group("end", "name")
            pos = match.end()
            if name is None:
                if match.group("cdata"):  # markup in HTML, text in SVG: count its start tags
                    opened = len(_START_TAG_RE.findall(match.group()))
                    stack.extend("?" * opened)
                    elements += opened * (1 + 2 * formatting)
                continue
            name = name.lower()
            if end:  # </p> and </br> make an element; text after any tag may re-create
                elements += 1 + 2 * formatting if name in ("p", "br") else formatting
                formatting -= _close(stack, name)
                continue
            if name in _IGNORED:
                continue
            if name in _VOID:
                elements += 1 + 2 * formatting
                continue
            _open(stack, name)
            formatting += name in _FORMATTING
            elements += 1 + 2 * formatting
            if len(stack) >= max_depth or elements > max_elements:
                return True
            if name in _RAW_TEXT:  # text whose end a regex may misjudge: only its start tags count
                pos = _raw_text_end(html, name, pos)
                opened = len(_START_TAG_RE.findall(html, match.end(), pos))
                stack.extend("?" * opened)
                elements += opened * (1 + 2 * formatting)
                break
        else:
            break
    # >=: a void element, or the <p> that a stray </p> makes, sits on top for a moment.
    return len(stack) >= max_depth or elements > max_elements


def _open(stack: list[str], name: str) -> None:
    """A start tag: close what it certainly closes on top of STACK, then push it."""
    closes = _CLOSES.get(name, ("p",) if name in _CLOSES_P else ())
    while stack and stack[-1] in closes:
        stack.pop()
    if name in _HEADINGS and stack and stack[-1] in _HEADINGS:
        stack.pop()
    stack.append(name)


def _close(stack: list[str], name: str) -> int:
    """An end tag: pop NAME's element when HTML5 certainly does; the formatting elements popped."""
    index = len(stack) - 1
    if name in _CELLS:  # closing a cell closes all in it, formatting included
        while index >= 0 and stack[index] != name and stack[index] not in _TABLE_SCOPE:
            index -= 1
    elif name not in _FORMATTING:
        while index >= 0 and stack[index] != name and stack[index] in _IMPLIED_END:
            index -= 1
    if index < 0 or stack[index] != name:
        return 0
    popped = sum(el in _FORMATTING for el in stack[index:]) if name in _CELLS else name in _FORMATTING
    del stack[index:]
    return popped


def _raw_text_end(html: str, name: str, start: int) -> int:
    """Where the raw text after <NAME> ends, never before HTML5 ends it."""
    if name == "plaintext":
        return len(html)
    end = re.compile(rf"</{name}[\t\n\f\r />]", re.I).search(html, start)
    stop = end.start() if end else len(html)
    if name == "script" and "<!--" in html[start:stop]:
        return len(html)  # script's escaped states can run past the first </script>
    return stop
