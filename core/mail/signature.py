"""Signatures in a message's text: below the "-- " separator (RFC 3676 §4.3).

Pure text functions; static/js/compose.js swaps a signature in the browser the same way.
"""
from __future__ import annotations

SEPARATOR = "-- "


def block(signature: str) -> str:
    """The separator line and SIGNATURE, e.g. '-- \\nSam\\n'; '' for an empty signature."""
    text = (signature or "").replace("\r\n", "\n").strip("\n")
    return f"{SEPARATOR}\n{text}\n" if text.strip() else ""


def with_signature(body: str, signature: str, above: bool = False) -> str:
    """BODY with SIGNATURE added: after the text, or ABOVE it (above a quote or a forward).

    >>> with_signature("", "Sam")
    '\\n\\n-- \\nSam\\n'
    >>> with_signature("> hi\\n", "Sam")
    '> hi\\n\\n\\n\\n-- \\nSam\\n'
    """
    sig = block(signature)
    if not sig:
        return body
    if above or not body.strip():
        rest = body.lstrip("\n")
        return f"\n\n{sig}\n{rest}" if rest else f"\n\n{sig}"
    # Two blank lines after a quote, so the reply sits on its own between quote and signature.
    return f"{body.rstrip(chr(10))}\n\n\n\n{sig}"


def without_signature(text: str) -> str:
    """TEXT up to its signature separator line: what a reply quotes (never the old signature)."""
    lines = (text or "").split("\n")
    if SEPARATOR in lines:
        lines = lines[:lines.index(SEPARATOR)]
    return "\n".join(lines).rstrip("\n") + "\n"
