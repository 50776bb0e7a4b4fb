"""The HTML parser and tree walker behind core.mail.sanitize, bounded and linear.

Both come from bleach's shim over its vendored html5lib, so the tree pass and
bleach's own pass read a document the same way.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from bleach.html5lib_shim import HTMLParser, HTMLSerializer, constants, getTreeWalker

#: Browsers stop nesting at 512 (Blink) and no real mail comes near either limit.
#: Without them html5lib's O(depth) scope checks and its re-opening of formatting
#: elements (a 6 KB message can expand to 50,000 elements) cost minutes of CPU.
MAX_HTML_DEPTH = 512
MAX_HTML_ELEMENTS = 50_000
_VOID_ELEMENTS = constants.voidElements


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


class LinearWalker(getTreeWalker("etree")):
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


def parse_document(html: str) -> ET.Element:
    """HTML parsed as a browser would (HTML tags unprefixed); TooComplex past the limits."""
    return HTMLParser(_BoundedTree, namespaceHTMLElements=False).parse(html)


def serialize(element: ET.Element) -> str:
    """ELEMENT and its content as HTML that bleach will read back the same way."""
    serializer = HTMLSerializer(quote_attr_values="always", use_best_quote_char=False,
                                omit_optional_tags=False, escape_lt_in_attrs=True,
                                sanitize=False, alphabetical_attributes=True,
                                escape_rcdata=True)  # never emit raw text bleach could re-parse
    return serializer.render(LinearWalker(element))
