"""Hypothesis strategies for hostile input, shared by the unit and integration tests."""
from __future__ import annotations

from hypothesis import strategies as st

NASTY_CHARS = st.sampled_from(list("\r\n\0\t\"'\\;:,<>()[]{}=?%*$/@ \x7f\u00ad\u200b\u202e\uff21é€😀"))
# Text a form can carry: any character but lone surrogates (a browser sends UTF-8).
TYPED = st.characters(blacklist_categories=("Cs",))
nasty_text = st.text(alphabet=st.one_of(NASTY_CHARS, TYPED), max_size=80)

CHARSETS = st.sampled_from(["utf-8", "iso-8859-1", "x-klingon", "utf-16", "", "us-ascii\0", "utf-7",
                            "shift_jis", "'\"", "windows-1252"])
ENCODINGS = st.sampled_from(["7bit", "8bit", "base64", "quoted-printable", "binary", "x-uuencode",
                             "bogus"])
LEAF_TYPES = st.sampled_from(["text/plain", "text/html", "text/x-anything", "text/enriched",
                              "image/png", "application/octet-stream", "application/pdf",
                              "message/delivery-status", "", "text", "/"])
MULTI_TYPES = st.sampled_from(["mixed", "alternative", "related", "digest", "signed", "x-unknown"])
DATES = st.sampled_from(["Mon, 32 Foo 2026 25:61:61 +9999", "yesterday", "",
                         "Fri, 4 Dec 2026 18:00:00 +0000", "Thu, 01 Jan 1970 00:00:00 -0000",
                         "9999999999"])
ENCODED_WORDS = st.builds(
    lambda cs, enc, payload: f"=?{cs}?{enc}?{payload}?=",
    CHARSETS, st.sampled_from(["B", "Q", "X", ""]), st.text(TYPED, max_size=30))
header_value = st.one_of(nasty_text, ENCODED_WORDS, DATES,
                         st.text(TYPED, min_size=1000, max_size=5000))


def _header_bytes(name: str, value: str) -> bytes:
    return name.encode() + b": " + value.encode("utf-8", "surrogateescape") + b"\r\n"


@st.composite
def mime_part(draw, depth: int = 0) -> bytes:
    """One MIME entity (headers, blank line, body): a leaf, a multipart or a message/rfc822."""
    headers = b"".join(_header_bytes(n, draw(header_value)) for n in
                       draw(st.lists(st.sampled_from(["Subject", "From", "To", "Date", "X-Odd",
                                                      "Content-Description"]), max_size=3)))
    kind = draw(st.sampled_from(["leaf", "leaf", "multi", "message"]) if depth < 6 else st.just("leaf"))
    if kind == "multi":
        boundary = draw(st.sampled_from(["b1", "", "a b", "--", "x" * 80]))
        children = draw(st.lists(mime_part(depth + 1), max_size=4))
        closing = draw(st.booleans())
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + c + b"\r\n" for c in children)
        body += (b"--" + boundary.encode() + b"--\r\n") if closing else b""
        ctype = f"multipart/{draw(MULTI_TYPES)}; boundary=\"{boundary}\"".encode()
    elif kind == "message":
        body, ctype = draw(mime_part(depth + 1)), b"message/rfc822"
    else:
        ctype = f"{draw(LEAF_TYPES)}; charset={draw(CHARSETS)}".encode("utf-8", "replace")
        headers += _header_bytes("Content-Transfer-Encoding", draw(ENCODINGS))
        if draw(st.booleans()):
            headers += _header_bytes("Content-Disposition",
                                     f"attachment; filename=\"{draw(nasty_text)}\"")
        body = draw(st.one_of(st.binary(max_size=300),
                              st.text(TYPED, max_size=300).map(str.encode)))
    return headers + b"Content-Type: " + ctype + b"\r\n\r\n" + body


