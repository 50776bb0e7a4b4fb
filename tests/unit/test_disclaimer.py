"""The disclaimer's MIME transformation and Markdown rendering (pure, no daemons).

Every check reads the result with the standard library's parser or by bytes, never
with the module's own helpers, so a wrong transformation cannot agree with itself.
"""
from __future__ import annotations

import email
import re
from email import policy
from email.message import EmailMessage

import pytest

from core.mail import disclaimer as mod
from core.mail.disclaimer import MARKER, Disclaimer, attach, has_disclaimer, render, render_html

ACME = render("acme.test", "**Confidential.** See [terms](https://acme.test/terms).")


def parse(raw: bytes):
    """RAW parsed by the standard library."""
    return email.message_from_bytes(raw, policy=policy.default)


def first_part_bytes(raw: bytes) -> bytes:
    """The raw first entity under RAW's top-level multipart, found by its boundary."""
    boundary = re.escape(parse(raw).get_boundary().encode())
    eol = b"\r\n" if b"\r\n" in raw else b"\n"
    body = raw.split(eol + eol, 1)[1]
    chunks = re.split(re.escape(eol) + b"--" + boundary + rb"(?:--)?[ \t]*" + re.escape(eol),
                      eol + body)
    return chunks[1]


def split(raw: bytes) -> tuple[bytes, bytes]:
    """(header block, body) of RAW at the first empty line."""
    head, _, body = raw.partition(b"\r\n\r\n")
    return head, body


def test_plain_message_keeps_its_body_bytes_and_gets_a_second_part():
    body = b"Hello,\r\n\r\nsee you.\r\n"
    raw = (b"From: a@acme.test\r\nTo: b@example.test\r\nSubject: Hi\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + body)
    out = attach(raw, ACME)
    message = parse(out)
    assert message.get_content_type() == "multipart/mixed"
    kinds = [p.get_content_type() for p in message.iter_parts()]
    assert kinds == ["text/plain", "multipart/alternative"]
    assert first_part_bytes(out) == b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + body
    head = split(out)[0].decode()
    assert head.startswith("From: a@acme.test\r\nTo: b@example.test\r\nSubject: Hi\r\n")
    assert head.count("MIME-Version") == 1 and head.count("Content-Type") == 1


def test_disclaimer_part_has_text_and_html_and_the_marker():
    part = list(parse(attach(b"Subject: x\r\n\r\nBody\r\n", ACME)).iter_parts())[1]
    assert part[MARKER] == "acme.test"
    text, html = part.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert text.get_content().strip() == "Confidential. See terms <https://acme.test/terms>."
    assert html.get_content_type() == "text/html"
    assert ('<strong>Confidential.</strong> See <a href="https://acme.test/terms">terms</a>'
            in html.get_content())


def test_message_without_content_type_keeps_the_defaults():
    out = attach(b"Subject: old\r\n\r\nplain old text\r\n", ACME)
    first = list(parse(out).iter_parts())[0]
    assert first.get_content_type() == "text/plain" and first.get_content_charset() in (None, "us-ascii")
    assert first_part_bytes(out) == b"\r\nplain old text\r\n"


def test_nested_multipart_with_attachment_is_untouched_inside():
    message = EmailMessage()
    message["From"], message["Subject"] = "a@acme.test", "Report"
    message.set_content("See attached.")
    message.add_alternative("<p>See attached.</p>", subtype="html")
    message.add_attachment(bytes(range(256)) * 4, maintype="application", subtype="octet-stream",
                           filename="data.bin")
    raw = message.as_bytes(policy=policy.SMTP)
    head, body = split(raw)
    content_type = re.search(rb"Content-Type: multipart/mixed;[^\r]*(\r\n[ \t][^\r]*)*", head).group(0)
    out = attach(raw, ACME)
    assert first_part_bytes(out) == content_type + b"\r\n\r\n" + body
    kinds = [p.get_content_type() for p in parse(out).walk()]
    assert kinds == ["multipart/mixed", "multipart/mixed", "multipart/alternative", "text/plain",
                     "text/html", "application/octet-stream", "multipart/alternative",
                     "text/plain", "text/html"]
    attachment = [p for p in parse(out).walk() if p.get_filename() == "data.bin"][0]
    assert attachment.get_content() == bytes(range(256)) * 4


def test_eight_bit_body_stays_raw_and_the_outer_entity_says_8bit():
    body = "Grüße, 你好\r\n".encode()
    raw = (b"Subject: umlaut\r\nContent-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body)
    out = attach(raw, ACME)
    assert first_part_bytes(out).endswith(b"\r\n\r\n" + body)
    assert b"Content-Transfer-Encoding: 8bit" in split(out)[0]
    assert list(parse(out).iter_parts())[0].get_content() == "Grüße, 你好\r\n"


def test_seven_bit_message_gets_no_8bit_label():
    out = attach(b"Subject: a\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9\r\n", ACME)
    assert b"Content-Transfer-Encoding" not in split(out)[0]


def test_signed_entity_is_moved_byte_for_byte():
    signed = (b"Content-Type: multipart/signed; protocol=\"application/pgp-signature\";\r\n"
              b"\tmicalg=pgp-sha256; boundary=\"sig\"\r\n")
    body = (b"--sig\r\nContent-Type: text/plain\r\n\r\nSigned text.  \r\n--sig\r\n"
            b"Content-Type: application/pgp-signature\r\n\r\n-----BEGIN PGP SIGNATURE-----\r\n"
            b"iQEzBAEBCAAdFiEE\r\n-----END PGP SIGNATURE-----\r\n--sig--\r\n")
    raw = b"From: a@acme.test\r\nMIME-Version: 1.0\r\n" + signed + b"\r\n" + body
    out = attach(raw, ACME)
    assert first_part_bytes(out) == signed + b"\r\n" + body
    inner = list(parse(out).iter_parts())[0]
    assert inner.get_content_type() == "multipart/signed"
    assert inner.get_param("protocol") == "application/pgp-signature"


def test_second_pass_returns_the_same_bytes():
    once = attach(b"Subject: x\r\n\r\nBody\r\n", ACME)
    assert attach(once, ACME) is once
    assert has_disclaimer(once, "ACME.test")


def test_another_domains_disclaimer_does_not_count():
    once = attach(b"Subject: x\r\n\r\nBody\r\n", render("other.test", "Other."))
    twice = attach(once, ACME)
    markers = [p[MARKER] for p in parse(twice).walk() if p[MARKER]]
    assert sorted(markers) == ["acme.test", "other.test"]


def test_forwarded_message_with_a_disclaimer_inside_still_gets_ours():
    forwarded = attach(b"Subject: inner\r\n\r\nInner\r\n", ACME)
    outer = EmailMessage()
    outer["Subject"] = "Fwd: inner"
    outer.set_content("Forwarding.")
    outer.add_attachment(email.message_from_bytes(forwarded, policy=policy.SMTP))
    raw = outer.as_bytes(policy=policy.SMTP)
    assert not has_disclaimer(raw, "acme.test")
    assert parse(attach(raw, ACME))["Content-Type"].startswith("multipart/mixed")
    assert len([p for p in parse(attach(raw, ACME)).walk() if p[MARKER]]) == 2


def test_folded_headers_and_lf_line_ends_are_kept():
    raw = (b"Subject: a very long subject\n that is folded\nContent-Type: text/plain;\n"
           b" charset=\"iso-8859-1\"\n\nCaf\xe9\n")
    out = attach(raw, ACME)
    assert b"\r\n" not in out
    assert out.startswith(b"Subject: a very long subject\n that is folded\nMIME-Version: 1.0\n")
    assert first_part_bytes(out) == b"Content-Type: text/plain;\n charset=\"iso-8859-1\"\n\nCaf\xe9\n"
    assert list(parse(out).iter_parts())[0].get_content() == "Café\n"


def test_body_without_final_line_end_and_headers_only_message():
    assert first_part_bytes(attach(b"Subject: a\r\n\r\nno newline", ACME)) == b"\r\nno newline"
    out = attach(b"Subject: only headers\r\n", ACME)
    assert [p.get_content_type() for p in parse(out).iter_parts()] == ["text/plain",
                                                                        "multipart/alternative"]


def test_boundary_never_occurs_in_the_body(monkeypatch):
    tokens = iter(["aaaa", "bbbb"])
    monkeypatch.setattr(mod.secrets, "token_hex", lambda n: next(tokens))
    out = attach(b"Subject: a\r\n\r\n--=_mailroom_aaaa\r\n", ACME)
    assert parse(out).get_boundary() == "=_mailroom_bbbb"
    assert first_part_bytes(out) == b"\r\n--=_mailroom_aaaa\r\n"


@pytest.mark.parametrize("source, absent", [
    ("<script>alert(1)</script>ok", "alert"),
    ("<style>p{color:red}</style>ok", "color"),
    ("[ok](javascript:alert(1))", "javascript"),
    ('<img src="https://tracker.example/p.gif">ok', "tracker"),
    ('<p onclick="x()">ok</p>', "onclick"),
    ("<svg><script>alert(1)</script></svg>ok", "alert"),
    ('<a href="https://ok.test" style="position:fixed">ok</a>', "position"),
])
def test_markdown_is_rendered_then_sanitised(source, absent):
    html = render_html(source)
    assert absent not in html and "ok" in html


def test_markdown_formatting_survives():
    html = render_html("# Title\n\n- one\n- two\n\n*em* and **strong**, [mail](mailto:a@acme.test)")
    for fragment in ("<h1>Title</h1>", "<li>one</li>", "<em>em</em>", "<strong>strong</strong>",
                     '<a href="mailto:a@acme.test">mail</a>'):
        assert fragment in html


def test_disclaimer_value_object():
    assert isinstance(ACME, Disclaimer) and ACME.domain == "acme.test"
