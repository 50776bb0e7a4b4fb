"""The HTML parser behind core.mail.sanitize, bounded and linear, and its serialiser.

Lexbor (through selectolax) parses as HTML5 says, as a browser would, in C; its tree is
copied into ElementTree elements for the policy walk. A document that could nest
deeper or grow bigger than the limits (sanitize_depth's estimate) is parsed instead by
html5lib's builder (vendored by bleach), which stops at the limits: Lexbor's HTML5
tree construction scans the open elements for many tags and has no limits of its own.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from bleach.html5lib_shim import HTMLParser
from selectolax.lexbor import LexborHTMLParser

from .sanitize_depth import may_exceed

#: Browsers stop nesting at 512 (Blink) and no real mail comes near either limit.
#: Without them html5lib's O(depth) scope checks and its re-opening of formatting
#: elements (a 6 KB message can expand to 50,000 elements) cost minutes of CPU.
MAX_HTML_DEPTH = 512
MAX_HTML_ELEMENTS = 50_000
# Lexbor makes 250,000 elements in about 0.1 s, and the copy stops at MAX_HTML_ELEMENTS:
# a document of up to this many is refused faster by Lexbor than by html5lib.
_LEXBOR_MAX_ELEMENTS = 5 * MAX_HTML_ELEMENTS
_VOID_ELEMENTS = frozenset("area base basefont bgsound br col embed frame hr img input keygen "
                           "link meta param source track wbr".split())
# Foreign content keeps its namespace, as html5lib's builder writes it: the policy drops it.
_FOREIGN = {"svg": "{http://www.w3.org/2000/svg}svg",
            "math": "{http://www.w3.org/1998/Math/MathML}math"}
# html5lib's serialiser wrote these attributes without a value; the output stays the same.
_MINIMISED = frozenset((("hr", "noshade"),))


class TooComplex(Exception):
    """The document exceeds MAX_HTML_DEPTH or MAX_HTML_ELEMENTS."""


class _BoundedTree(type(HTMLParser().tree)):  # html5lib's etree builder, as bleach's
    """html5lib's tree builder, refusing trees deeper or bigger than the limits."""

    created = 0

    def _count(self) -> None:
        """Count one more element; raise TooComplex past a limit."""
        self.created += 1
        if len(self.openElements) >= MAX_HTML_DEPTH or self.created > MAX_HTML_ELEMENTS:
            raise TooComplex

    def insertElementNormal(self, token):  # noqa: N802 - html5lib's name
        """Insert as html5lib does, within the limits."""
        self._count()
        return super().insertElementNormal(token)

    def insertElementTable(self, token):  # noqa: N802 - html5lib's name
        """Insert with foster parenting, within the limits."""
        self._count()
        return super().insertElementTable(token)


def parse_document(html: str) -> ET.Element:
    """HTML's <html> element parsed as a browser would (HTML tags unprefixed).

    Raises TooComplex past MAX_HTML_DEPTH or MAX_HTML_ELEMENTS.
    """
    return parse_with_lexbor(html) if lexbor_is_safe(html) else parse_with_html5lib(html)


def lexbor_is_safe(html: str) -> bool:
    """True when Lexbor parses HTML in bounded time: not too deep, not too many elements."""
    return not may_exceed(html, MAX_HTML_DEPTH, _LEXBOR_MAX_ELEMENTS)


def parse_with_html5lib(html: str) -> ET.Element:
    """parse_document by html5lib's builder, which stops at the limits (slow, bounded)."""
    return HTMLParser(_BoundedTree, namespaceHTMLElements=False).parse(html)


def parse_with_lexbor(html: str) -> ET.Element:
    """parse_document by Lexbor (fast; its cost grows with depth: see sanitize_depth)."""
    return _copy_tree(LexborHTMLParser(html).root)


def _copy_tree(top) -> ET.Element:
    """Lexbor's <html> element and all in it as ElementTree elements, within the limits.

    Iterative, as mail can nest deeply; text nodes become .text/.tail as in ElementTree,
    comments ET.Comment, <svg>/<math> one namespaced element without content.
    """
    root = ET.Element(top.tag, _attributes(top))
    created = 1
    # (next sibling to copy, its parent, the element copied before it, depth of parent)
    pending = [(top.child, root, None, 1)]
    while pending:
        node, parent, last, depth = pending.pop()
        while node is not None:
            tag = node.tag
            if tag == "-text":
                text = node.text_content
                if last is None:
                    parent.text = (parent.text or "") + text
                else:
                    last.tail = (last.tail or "") + text
            elif tag == "-comment":
                last = ET.Comment(node.comment_content)
                parent.append(last)
            elif tag[0] != "-":
                created += 1
                if depth >= MAX_HTML_DEPTH or created > MAX_HTML_ELEMENTS:
                    raise TooComplex
                last = ET.SubElement(parent, _FOREIGN.get(tag, tag), _attributes(node))
                child = node.child
                if child is not None and tag not in _FOREIGN:
                    pending.append((node.next, parent, last, depth))
                    node, parent, last, depth = child, last, None, depth + 1
                    continue
            node = node.next
    return root


def _attributes(node) -> dict[str, str]:
    """NODE's attributes; Lexbor gives None for one written without a value."""
    attributes = node.attributes
    if None in attributes.values():
        return {name: value or "" for name, value in attributes.items()}
    return attributes


def serialize(element: ET.Element) -> str:
    """ELEMENT (without its tail) and its content as HTML, attributes in alphabetical order.

    Text and attribute values are always escaped, so nothing in them reads as markup.
    """
    out: list[str] = []
    todo: list = [element]
    while todo:
        node = todo.pop()
        if node.__class__ is str:
            out.append(node)
            continue
        tag = node.tag
        attrib = node.attrib
        out.append(f"<{tag}{_attributes_html(tag, attrib)}>" if attrib else f"<{tag}>")
        tail = _escape_text(node.tail) if node.tail and node is not element else ""
        if tag in _VOID_ELEMENTS:
            out.append(tail)
        elif len(node):
            if node.text:
                out.append(_escape_text(node.text))
            todo.append(f"</{tag}>{tail}")
            todo.extend(reversed(node))
        else:  # most elements: their text and end tag at once
            text = _escape_text(node.text) if node.text else ""
            out.append(f"{text}</{tag}>{tail}")
    return "".join(out)


def _attributes_html(tag: str, attrib: dict[str, str]) -> str:
    """' name="value"' for each attribute, sorted, with &, < and " escaped."""
    return "".join([f" {name}" if (tag, name) in _MINIMISED else f' {name}="{_escape_attr(value)}"'
                    for name, value in sorted(attrib.items())])


def _escape_attr(value: str) -> str:
    """VALUE with &, < and " escaped (as html5lib's serialiser did)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _escape_text(text: str) -> str:
    """TEXT with &, < and > escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
