"""Finds the words of a template that people read but no translation call wraps.

`find_unmarked(source)` lists them (the unit test fails on any); `mark(source)` wraps
each in `{{ _('…') }}` (one line) or `{% trans trimmed %}` (several lines), keeping
every line's structure, so a new template can be marked mechanically:

    .venv/bin/python -m tests.template_text templates/admin/new_page.html   # list
    .venv/bin/python -m tests.template_text --fix templates/admin/new_page.html

What counts: text between tags (not in <code>, <kbd>, <pre>, <script>, <style> or a
`{% block ...class %}`), the attributes title, placeholder, aria-label, alt,
and the value of submit/button inputs, and prose given as a string to a macro or `set` (a label,
hint or heading: starts with a capital or holds a space, has lower-case letters).
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

JINJA = re.compile(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}|\{%-?\s*block\s+\w*class\s*-?%\}.*?\{%-?\s*endblock\s*-?%\}|\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
EXPR_MASK, BLOCK_MASK = "\ue000", "\ue001"
TAG = re.compile(r"<!--.*?-->|<![^>]*>|<(/?)([a-zA-Z][\w-]*)([^>]*)>", re.S)
# Text that is code, not words: scripts, styles, commands and keys shown as written.
RAW_ELEMENTS = ("script", "style", "code", "kbd", "pre")
ATTR = re.compile(r"""(?<![\w-])(title|placeholder|aria-label|alt|value|data-confirm|data-label)=(["'])(.*?)\2""", re.S)
ATTRIBUTE_TEXT = re.compile(r"""([\w-]+=(["']).*?\2\s*)+""", re.S)
NAMES = {"Mailroom", "spamtrainers"}  # the product, the training group's name
WORD = re.compile(r"[A-Za-zÀ-ÿ]{2,}|\b[A-Za-z]\b(?=\s)")
STRING = re.compile(r"""(["'])((?:\\.|(?!\1).)*)\1""", re.S)
# Literals that are code, not prose: formats, attribute text, comparisons, keys.
NOT_PROSE_BEFORE = re.compile(r"(==|!=|\bin|\bis|attrs=|strftime\(|url_for\(|\.get\(|\[)\s*[(\[]?\s*$")
TRANSLATED = re.compile(r"""\b(_|gettext|ngettext)\(\s*$|\bngettext\(\s*(["'])(?:(?!\2).)*\2\s*,\s*$""", re.S)


@dataclass(frozen=True)
class Unmarked:
    """One piece of text a person reads that is not translated."""
    line: int
    text: str
    start: int
    end: int
    kind: str  # "text", "attribute" or "literal"


def _mask(source: str) -> str:
    """SOURCE with each Jinja construct blanked out (same length, newlines kept)."""
    def blank(m: re.Match) -> str:
        fill = EXPR_MASK if m.group().startswith("{{") else BLOCK_MASK
        return "".join(c if c == "\n" else fill for c in m.group())
    return JINJA.sub(blank, source)


def _has_words(source: str, masked: str, start: int, end: int) -> bool:
    text = "".join(c for c, k in zip(source[start:end], masked[start:end]) if k not in (EXPR_MASK, BLOCK_MASK))
    text = re.sub(r"&\w+;|&#\w+;", " ", text)
    # Names and acronyms read the same in every language (Mailroom, IMAP, TXT, KB).
    words = [w for w in WORD.findall(text) if w not in NAMES and not w.isupper()]
    return bool(words)


def _pieces(source: str, masked: str, start: int, end: int):
    """(start, end) of each run between Jinja blocks, whitespace trimmed, that holds words."""
    pos = start
    for part in re.split(f"({BLOCK_MASK}+)", masked[start:end]):
        a, b = pos, pos + len(part)
        pos = b
        if not part or part[0] == BLOCK_MASK:
            continue
        while a < b and source[a].isspace():
            a += 1
        while b > a and source[b - 1].isspace():
            b -= 1
        # Attributes written by a macro between tags (aria-invalid="true") are not words.
        if a < b and _has_words(source, masked, a, b) and not ATTRIBUTE_TEXT.fullmatch(source[a:b]):
            yield a, b


def _line(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def _prose(literal: str) -> bool:
    if "%" in literal and re.search(r"%[a-zA-Z]", literal) and not re.search(r"[a-z]{3}", literal.replace("%", "")):
        return False
    if not re.search(r"[a-z]", literal) or re.fullmatch(r"[\w.:/-]*", literal) and not literal[:1].isupper():
        return False
    if re.search(r"=\"|class=|<|\{", literal):
        return False
    return literal[:1].isupper() or literal[:1] in "(“" or bool(re.search(r"[a-z] [a-z]", literal))


def _literals(source: str):
    """Prose string literals inside Jinja expressions and tags, not already translated."""
    for m in JINJA.finditer(source):
        if m.group().startswith("{#"):
            continue
        body = m.group()
        if re.match(r"\{%-?\s*(trans|pluralize|extends|include|import|from|block)\b", body):
            continue
        for lit in STRING.finditer(body):
            before = body[:lit.start()]
            if TRANSLATED.search(before) or NOT_PROSE_BEFORE.search(before):
                continue
            after = body[lit.end():]
            if re.match(r"\s*(==|!=|\bin\b|:)", after):
                continue
            if _prose(lit.group(2)):
                yield m.start() + lit.start(), m.start() + lit.end()


def find_unmarked(source: str) -> list[Unmarked]:
    """Every run of words a person reads that no translation call wraps, in order."""
    masked = _mask(source)
    found: list[Unmarked] = []
    pos, raw = 0, None
    for tag in TAG.finditer(masked):
        if raw is None:
            found += [Unmarked(_line(source, a), source[a:b], a, b, "text")
                      for a, b in _pieces(source, masked, pos, tag.start())]
        pos = tag.end()
        closing, name = tag.group(1), (tag.group(2) or "").lower()
        if raw is not None:
            raw = None if closing and name == raw else raw
            continue
        if name in RAW_ELEMENTS and not closing:
            raw = name
        attrs = tag.group(3) or ""
        for attr in ATTR.finditer(attrs):
            if attr.group(1) == "value" and not (name == "input" and re.search(r"type=[\"'](submit|button|reset)", attrs)):
                continue
            offset = tag.start(3) + attr.start(3)
            found += [Unmarked(_line(source, a), source[a:b], a, b, "attribute")
                      for a, b in _pieces(source, masked, offset, offset + len(attr.group(3)))]
    if raw is None:
        found += [Unmarked(_line(source, a), source[a:b], a, b, "text") for a, b in _pieces(source, masked, pos, len(source))]
    found += [Unmarked(_line(source, a), source[a:b], a, b, "literal") for a, b in _literals(source)]
    return sorted(found, key=lambda u: u.start)


def _name(expr: str, taken: dict[str, str]) -> str:
    """A placeholder name for EXPR: its last identifier before any filter."""
    words = re.findall(r"[A-Za-z_]\w*", expr.split("|")[0]) or ["value"]
    base = words[-1].lower()
    if base in {"and", "or", "not", "in", "is", "if", "else", "none", "true", "false", "trimmed", "_"}:
        base = "value"
    name, n = base, 2
    while name in taken and taken[name] != expr:
        name, n = f"{base}{n}", n + 1
    taken[name] = expr
    return name


def _quote(text: str) -> str:
    if "'" in text and '"' not in text:
        return '"' + text.replace("\\", "\\\\") + '"'
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _wrap(text: str, in_attribute: bool) -> str:
    """TEXT (words and {{ expressions }}) as a translation call."""
    taken: dict[str, str] = {}
    multiline = "\n" in text and not in_attribute
    parts, args = [], []
    for piece in re.split(r"(\{\{.*?\}\})", text, flags=re.S):
        if piece.startswith("{{"):
            expr = piece[2:-2].strip()
            name = _name(expr, taken)
            if (name, expr) not in args:
                args.append((name, expr))
            parts.append("{{ %s }}" % name if multiline else "%%(%s)s" % name)
        else:
            parts.append(piece if multiline else piece.replace("%", "%%"))
    if multiline:
        bound = ", ".join(f"{n}={e}" for n, e in args if n != e)
        return "{%% trans trimmed%s %%}%s{%% endtrans %%}" % (" " + bound if bound else "", "".join(parts))
    call = ", ".join([_quote("".join(parts))] + [f"{n}={e}" for n, e in args])
    return "{{ _(%s) }}" % call


def mark(source: str) -> str:
    """SOURCE with every unmarked text wrapped in a translation call.

    Literals first, so that a text holding an expression with a literal keeps it translated.
    """
    for kinds in (("literal",), ("text", "attribute")):
        source = _mark(source, kinds)
    return source


def _mark(source: str, kinds: tuple[str, ...]) -> str:
    out, pos = [], 0
    for u in (u for u in find_unmarked(source) if u.kind in kinds):
        out.append(source[pos:u.start])
        if u.kind == "literal":
            out.append("_(%s)" % u.text)
        else:
            out.append(_wrap(u.text, u.kind == "attribute"))
        pos = u.end
    out.append(source[pos:])
    return "".join(out)


def main(argv: list[str]) -> int:
    fix = "--fix" in argv
    status = 0
    for name in (a for a in argv if a != "--fix"):
        path = Path(name)
        source = path.read_text()
        if fix:
            path.write_text(mark(source))
            continue
        for u in find_unmarked(source):
            print(f"{path}:{u.line}: {u.kind} not marked for translation: {u.text!r}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
