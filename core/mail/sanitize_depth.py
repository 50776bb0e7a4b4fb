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
      (?:[{_WS}/]++
        |[^{_WS}/>][^{_WS}/>=]*+(?:[{_WS}]*+=[{_WS}]*+(?:"[^"]*+"|'[^']*+'|[^{_WS}>]*+))?+
      )*+
      (?:>|\Z)
  | <!---?>
  | <!--.*?(?:--!?>|\Z)
  | (?P<cdata><!\[CDATA\[.*?(?:\]\]>|\Z))
  | <(?:[!?]|/(?![a-zA-Z]))[^>]*+(?:>|\Z)
""", re.S | re.X)
# What can make an element inside text whose end a regex may misjudge: any start tag, and
# the </p> or </br> that HTML5 turns into an element.
_START_TAG_RE = re.compile(r"<[a-zA-Z]|</(?:p|br)[\t\n\f\r />]", re.I)
_VOID = frozenset("area base basefont bgsound br col embed frame hr image img input keygen "
                  "link meta param source track wbr".split())
# Void elements that also leave SVG/MathML (HTML's breakout tags), so they never nest there.
_BREAKOUT_VOID = frozenset("br embed hr img meta".split())
_IGNORED = frozenset(("html", "head", "body"))  # never nested in HTML: HTML5 merges repeats
_RAW_TEXT = frozenset("script style textarea title xmp iframe noembed noframes noscript "
                      "plaintext".split())
_FORMATTING = frozenset("a b big code em font i nobr s small strike strong tt u".split())
# Elements whose end tag HTML5 implies (generate implied end tags, table parts). A table
# part counts only inside a <table> (see _table_part); elsewhere HTML5 ignores its tag
# and the estimate keeps it as "name?", which nothing closes.
_IMPLIED_END = frozenset("p li dt dd option optgroup rb rp rt rtc tr td th tbody thead tfoot "
                         "caption colgroup".split())
# What a start tag closes when it is the current node (HTML5 "in body" and table modes);
# not <table>, which leaves a <p> open in quirks mode.
_CLOSES = {"li": ("li", "p"), "dt": ("dt", "dd", "p"), "dd": ("dt", "dd", "p"),
           "option": ("option",), "optgroup": ("option",)}
_CLOSES_P = frozenset("address article aside blockquote center details dialog dir div dl "
                      "fieldset figcaption figure footer header hgroup main menu nav ol p pre "
                      "listing section summary ul form h1 h2 h3 h4 h5 h6".split())
_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
# A table part's start tag first clears the stack back to its table ("clear the stack
# back to a table context"; in a cell or caption it closes that first), keeping the row
# group and row it goes in, then opens the parents it lacks (<td> in <table>: <tbody><tr>).
_TABLE_PARTS = {"td": 2, "th": 2, "tr": 1, "col": 0, "colgroup": 0, "caption": 0,
                "tbody": 0, "thead": 0, "tfoot": 0}  # how many of row group, row it keeps
_TABLE_PARENTS = {"td": ("tbody", "tr"), "th": ("tbody", "tr"), "tr": ("tbody",),
                  "col": ("colgroup",)}
_ROW_GROUPS = frozenset(("tbody", "thead", "tfoot"))
# A cell's or table's end tag pops everything in it, unless a template lies between
# (HTML5's "table scope"); a cell's marker also drops the formatting elements in it.
_CELLS = frozenset(("td", "th", "caption"))
_TABLE_SCOPE = frozenset(("table", "template"))
# Start tags whose only effect is one element pushed (none of the cases _Estimate.start
# handles apart): the common case, taken without a method call.
_PLAIN_START = frozenset("abbr acronym bdi bdo cite del dfn ins kbd label mark q samp span sub "
                         "sup time var".split())


def may_exceed(html: str, max_depth: int, max_elements: int) -> bool:
    """True when a browser might build HTML deeper or bigger than the limits.

    Never False when it would; sometimes True when it would not.
    """
    state = _Estimate()
    stack = state.stack
    pos = 0
    while pos < len(html):
        for match in _TOKEN_RE.finditer(html, pos):
            end, name = match.group("end", "name")
            pos = match.end()
            if name is None:
                if match.group("cdata"):  # markup in HTML, text in SVG: count its start tags
                    state.opaque(len(_START_TAG_RE.findall(match.group())))
                continue
            name = name.lower()
            if end:
                if stack and stack[-1] == name and name != "br":  # most end tags: one pop
                    stack.pop()
                    state.elements += state.formatting
                    state.formatting -= name in _FORMATTING
                else:
                    state.end(name)
                continue
            if name in _PLAIN_START:  # most start tags: just pushed
                stack.append(name)
                state.elements += 1 + 2 * state.formatting
            else:
                state.start(name)
            if len(stack) >= max_depth or state.elements > max_elements:
                return True
            if name in _RAW_TEXT:  # text whose end a regex may misjudge
                pos = _raw_text_end(html, name, pos)
                state.opaque(len(_START_TAG_RE.findall(html, match.end(), pos)))
                break
        else:
            break
    # >=: a void element, or the <p> that a stray </p> makes, sits on top for a moment.
    return len(stack) >= max_depth or state.elements > max_elements


class _Estimate:
    """The stack of open elements as HTML5 could at most have it, and the elements it made.

    Invariant: every element on HTML5's stack is on this one. Each formatting element
    still open may be re-created (reconstructed) before and after every token, so each
    token also counts one element per open formatting element.
    """

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.formatting = self.elements = 0
        self.foreign = False  # after <svg>/<math>: inside them <col> or <html> nest
        self.select = False  # after <select>: HTML5 may ignore table tags, so none count

    def start(self, name: str) -> None:
        """A start tag."""
        self.elements += 2 * self.formatting
        if name in _TABLE_PARTS and not (self.foreign or self.select):
            self._table_part(name)
        elif name in _TABLE_PARTS:  # in <select> or SVG HTML5 may keep or leave it: both
            for _ in (*_TABLE_PARENTS.get(name, ()), name):
                self._push("?")
        elif name in _VOID and (name in _BREAKOUT_VOID or not self.foreign):
            self.elements += 1
        elif name not in _IGNORED or (self.foreign and name == "html"):
            self.foreign |= name in ("svg", "math")
            self.select |= name == "select"
            self._close_on_start(name)
            self.formatting += name in _FORMATTING
            self._push(name)

    def _push(self, name: str) -> None:
        """Push NAME, one element made."""
        self.stack.append(name)
        self.elements += 1

    def _close_on_start(self, name: str) -> None:
        """Close what NAME's start tag certainly closes on top of the stack."""
        stack = self.stack
        closes = _CLOSES.get(name, ("p",) if name in _CLOSES_P else ())
        while stack and stack[-1] in closes:
            stack.pop()
        if name in _HEADINGS and stack and stack[-1] in _HEADINGS:
            stack.pop()

    def _table_part(self, name: str) -> None:
        """A table part: back to its table, then the parents it lacks, then itself."""
        stack = self.stack
        table = len(stack) - 1
        while table >= 0 and stack[table] not in _TABLE_SCOPE:
            table -= 1
        if table < 0 or stack[table] != "table":
            if name not in _VOID:
                self._push(name + "?")  # outside a table HTML5 ignores it
            self.elements += name in _VOID
            return
        keep = table + 1  # popped formatting elements stay re-creatable: not uncounted
        if _TABLE_PARTS[name] and keep < len(stack) and stack[keep] in _ROW_GROUPS:
            keep += 1
            if _TABLE_PARTS[name] > 1 and keep < len(stack) and stack[keep] == "tr":
                keep += 1
        if name == "col" and keep == len(stack) - 1 and stack[keep] == "colgroup":
            keep += 1  # a <colgroup> stays open only while it is the current node
        del stack[keep:]
        for parent in _TABLE_PARENTS.get(name, ())[keep - table - 1:]:
            self._push(parent)
        if name in _VOID:
            self.elements += 1
        else:
            self._push(name)

    def opaque(self, start_tags: int) -> None:
        """Text whose end a regex may misjudge: its start tags count (as formatting ones, which
        may be re-created), its end tags do not."""
        self.stack.extend("?" * start_tags)
        self.formatting += start_tags
        self.elements += start_tags * (1 + 2 * self.formatting)

    def end(self, name: str) -> None:
        """An end tag: pop NAME's element where HTML5 certainly does."""
        stack = self.stack
        self.elements += self.formatting + (name in ("p", "br"))  # </p>, </br> make one
        index = len(stack) - 1
        if (name in _CELLS or name == "table") and not self.select:
            while index >= 0 and stack[index] != name and stack[index] not in _TABLE_SCOPE:
                index -= 1
        elif name not in _FORMATTING:
            while index >= 0 and stack[index] != name and stack[index] in _IMPLIED_END:
                index -= 1
        if index >= 0 and stack[index] == name:
            if name != "table":  # a cell's marker drops its formatting elements
                self.formatting -= sum(el in _FORMATTING for el in stack[index:])
            del stack[index:]


def _raw_text_end(html: str, name: str, start: int) -> int:
    """Where the raw text after <NAME> ends, never before HTML5 ends it."""
    if name == "plaintext":
        return len(html)
    end = re.compile(rf"</{name}[\t\n\f\r />]", re.I).search(html, start)
    stop = end.start() if end else len(html)
    if name == "script" and "<!--" in html[start:stop]:
        return len(html)  # script's escaped states can run past the first </script>
    return stop
