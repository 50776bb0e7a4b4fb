"""MIME parsing: damaged messages, legacy charsets, file names, IMAP part numbers."""
from __future__ import annotations

import base64
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.mail.errors import MailError
from core.mail.mime import (PartNotFound, content_disposition, parse_message, part_payload,
                            safe_filename)

SAMPLES = Path(__file__).parent / "mail_samples"


def raw(headers: str, body: bytes | str = b"") -> bytes:
    """A message from header lines (newline-separated) and a body, with CRLF line ends."""
    head = "\r\n".join(line for line in headers.strip("\n").split("\n")).encode("utf-8")
    data = body.encode("utf-8") if isinstance(body, str) else body
    return head + b"\r\n\r\n" + data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def nested(levels: int) -> bytes:
    """LEVELS multipart/mixed containers around one text part."""
    head, tail = b"", b""
    for i in range(levels):
        head += b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        tail = b"\r\n--b%d--\r\n" % i + tail
    return b"Subject: deep\r\n" + head + b"Content-Type: text/plain\r\n\r\ndeep" + tail


MIXED = """From: Ann <ann@example.org>
To: Bob <bob@example.org>
Subject: Report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"
"""
BINARY = random.Random(7).randbytes(5000) + bytes(range(256))


def typical_message() -> bytes:
    """mixed(alternative(text, html), pdf attachment, binary attachment)."""
    b64 = base64.encodebytes(BINARY).decode("ascii")
    return raw(MIXED, f"""--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Plain body
--alt
Content-Type: text/html; charset=utf-8

<p>HTML body</p>
--alt--
--outer
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--outer
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="blob.bin"
Content-Transfer-Encoding: base64

{b64}--outer--
""")


# --- damaged messages: none may raise, each shows text or says what is wrong ----------

MALFORMED = {
    "truncated-multipart": raw(MIXED, "--outer\nContent-Type: text/plain\n\nfirst part\n--outer\n"
                                      "Content-Type: text/html\n\n<p>cut off here"),
    "missing-boundary": raw("Content-Type: multipart/mixed\n", "just some text\n"),
    "boundary-never-closed": raw(MIXED, "--outer\nContent-Type: text/plain\n\nnever closed\n"),
    "boundary-not-found": raw(MIXED, "no boundary line anywhere\n"),
    "bad-base64": raw("Content-Type: text/plain\nContent-Transfer-Encoding: base64\n",
                      "SGVsbG8gd29ybGQ!!!*\nx\n"),
    "bad-quoted-printable": raw("Content-Type: text/plain\nContent-Transfer-Encoding: "
                                "quoted-printable\n", "caf=E9 =ZZ broken =\nsoft= \nend=\n"),
    "unknown-charset": raw("Content-Type: text/plain; charset=x-klingon-8\n", b"caf\xe9\n"),
    "unknown-transfer-encoding": raw("Content-Type: text/plain\n"
                                     "Content-Transfer-Encoding: x-rot13\n", "text\n"),
    "8bit-latin1-headers": (b"Subject: caf\xe9 cr\xe8me\r\nFrom: J\xe9r\xf4me <j@x.example>\r\n"
                            b"\r\nhi\r\n"),
    "8bit-utf8-headers": "Subject: Grüße\r\nFrom: Zoë <z@x.example>\r\n\r\nhi\r\n".encode(),
    "huge-header": (b"Subject: " + b"A" * 100_000 + b"\r\nX-Long: " + b"b " * 50_000
                    + b"\r\n\r\nhi\r\n"),
    "header-with-nul": b"Subject: a\x00b\r\nFrom: x\x00@y\r\n\r\nhi\r\n",
    "nested-rfc822": raw(MIXED, "--outer\nContent-Type: text/plain\n\nsee attached\n--outer\n"
                                "Content-Type: message/rfc822\n\nSubject: inner\nContent-Type: "
                                "multipart/mixed; boundary=in\n\n--in\nContent-Type: text/plain\n\n"
                                "inner text\n--in--\n--outer--\n"),
    "empty-body": raw("Subject: nothing\n", b""),
    "empty-message": b"",
    "no-content-type": b"Subject: plain\r\n\r\nno content type here\r\n",
    "zero-parts": raw(MIXED, "--outer--\n"),
    "deeply-nested-50": nested(50),
    "absurdly-nested-1500": nested(1500),
    "garbage-bytes": random.Random(1).randbytes(3000),
    "no-header-separator": b"Subject: x\r\nthis line is no header\r\nmore\r\n",
    "junk-content-type": raw("Content-Type: \x01;;;=; =\nContent-Disposition: ;filename*1=a; "
                             "filename*0*=bogus\n", "body\n"),
    "rfc2231-broken": raw("Content-Type: application/pdf; name*0*=x'y'%ZZ; name*2=z\n", "%PDF"),
    "lf-only-line-ends": b"Subject: lf\nContent-Type: text/plain\n\nline one\nline two\n",
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_message_never_raises(name):
    msg = parse_message(MALFORMED[name])
    assert msg.text is not None or msg.html is not None or msg.defects


def test_truncated_multipart_shows_both_parts_and_a_note():
    msg = parse_message(MALFORMED["truncated-multipart"])
    assert msg.text == "first part" and "cut off here" in msg.html
    assert any("never closed" in d for d in msg.defects)


def test_missing_boundary_shows_text_and_says_so():
    msg = parse_message(MALFORMED["missing-boundary"])
    assert "just some text" in msg.text
    assert any("missing boundary" in d for d in msg.defects)


def test_bad_base64_decodes_what_it_can():
    msg = parse_message(MALFORMED["bad-base64"])
    assert msg.text.startswith("Hello world")
    assert any("base64" in d for d in msg.defects)


def test_bad_quoted_printable_keeps_text():
    assert parse_message(MALFORMED["bad-quoted-printable"]).text.startswith("café =ZZ broken")


def test_unknown_charset_falls_back_with_note():
    msg = parse_message(MALFORMED["unknown-charset"])
    assert msg.text == "café\n"
    assert any("unknown charset 'x-klingon-8'" in d for d in msg.defects)


@pytest.mark.parametrize("name,subject,sender", [
    ("8bit-latin1-headers", "café crème", "Jérôme <j@x.example>"),
    ("8bit-utf8-headers", "Grüße", "Zoë <z@x.example>"),
])
def test_raw_8bit_headers_decoded(name, subject, sender):
    msg = parse_message(MALFORMED[name])
    assert (msg.subject, msg.from_) == (subject, sender)


def test_huge_header_is_shortened_with_note():
    msg = parse_message(MALFORMED["huge-header"])
    assert 16_000 < len(msg.subject) < 17_000 and msg.text == "hi\n"
    assert any("Subject header is 100000 characters long" in d for d in msg.defects)


def test_nul_in_header_removed_with_note():
    msg = parse_message(MALFORMED["header-with-nul"])
    assert msg.subject == "ab" and "\x00" not in msg.from_
    assert any("control characters" in d for d in msg.defects)


def test_nested_message_is_an_eml_attachment():
    msg = parse_message(MALFORMED["nested-rfc822"])
    assert msg.text == "see attached"
    (att,) = msg.attachments
    assert (att.part_id, att.content_type) == ("2", "message/rfc822")
    assert att.filename == "attachment-2.eml"
    data, ctype, _ = part_payload(MALFORMED["nested-rfc822"], "2")
    assert b"Subject: inner" in data and b"inner text" in data and att.size == len(data)


def test_deep_nesting_reaches_the_text():
    assert parse_message(MALFORMED["deeply-nested-50"]).text == "deep"


def test_absurd_nesting_shows_raw_text_with_note():
    msg = parse_message(MALFORMED["absurdly-nested-1500"])
    assert msg.subject == "deep" and "too deeply nested" in msg.defects[0]
    assert msg.text is not None or msg.html is not None


def test_empty_and_typeless_messages():
    assert parse_message(MALFORMED["empty-body"]).text == ""
    assert parse_message(MALFORMED["no-content-type"]).text == "no content type here\n"
    assert parse_message(b"").subject == ""


def test_zero_parts_says_so():
    msg = parse_message(MALFORMED["zero-parts"])
    assert not msg.text and msg.html is None and not msg.attachments
    assert any("has no parts" in d for d in msg.defects)


# --- legacy charsets --------------------------------------------------------------------

CHARSETS = [
    ("iso-8859-1", "Crème brûlée à volonté"),
    ("windows-1252", "“Smart” quotes – 5 € …"),
    ("koi8-r", "Привет, мир"),
    ("shift_jis", "日本語のメール"),
    ("gb2312", "中文邮件测试"),
    ("iso-8859-2", "Zażółć gęślą jaźń"),
    ("euc-kr", "한국어 메일"),
    ("big5", "繁體中文郵件"),
]


@pytest.mark.parametrize("charset,text", CHARSETS)
def test_legacy_charset_in_header_and_body(charset, text):
    encoded = text.encode(charset)
    subject = f"=?{charset}?B?{base64.b64encode(encoded).decode()}?="
    sender = f"=?{charset}?Q?{''.join(f'={b:02X}' for b in encoded[:6])}?= <s@x.example>"
    msg = parse_message(raw(f"Subject: {subject}\nFrom: {sender}\n"
                            f"Content-Type: text/plain; charset={charset}\n"
                            "Content-Transfer-Encoding: 8bit\n", encoded + b"\n"))
    assert msg.subject == text
    assert msg.from_ == encoded[:6].decode(charset, "ignore") + " <s@x.example>"
    assert msg.text == text + "\n" and not msg.defects


def test_latin1_label_decodes_windows_1252_bytes():
    msg = parse_message(raw("Content-Type: text/plain; charset=iso-8859-1\n", b"\x93Hi\x94 \x80\n"))
    assert msg.text == "“Hi” €\n"


def test_undecodable_bytes_are_replaced_with_note():
    msg = parse_message(raw("Content-Type: text/plain; charset=utf-8\n", b"ok \xff\xfe end\n"))
    assert msg.text == "ok \ufffd\ufffd end\n"
    assert any("invalid in utf-8" in d for d in msg.defects)


def test_encoded_words_split_inside_a_character_are_joined():
    # RFC 2047 §6.2: whitespace between adjacent encoded-words is dropped.
    msg = parse_message(raw("Subject: =?utf-8?Q?Gr=C3?= =?utf-8?Q?=BC=C3=9Fe?= aus "
                            "=?utf-8?B?S8O2bG4=?=\n"))
    assert msg.subject == "Grüße aus Köln"


def test_html_meta_charset_used_when_mime_has_none():
    body = '<meta charset="koi8-r"><p>'.encode() + "Привет".encode("koi8-r")
    assert "Привет" in parse_message(raw("Content-Type: text/html\n", body)).html


# --- headers, bodies, structure ---------------------------------------------------------

def test_headers_decoded_and_listed_in_order():
    msg = parse_message(raw("""Date: Tue, 1 Jul 2025 10:00:00 +0200
From: =?iso-8859-1?Q?J=F6rg?= <j@x.example>
To: a@x.example, =?utf-8?B?QsOkcmJlbA==?= <b@x.example>
Cc: c@x.example
Reply-To: list@x.example
Subject: Hello
Message-ID: <id1@x.example>
In-Reply-To: <id0@x.example>
References: <r1@x.example>
 <id0@x.example>
""", "body\n"))
    assert msg.from_ == "Jörg <j@x.example>" and msg.to == "a@x.example, Bärbel <b@x.example>"
    assert (msg.cc, msg.reply_to) == ("c@x.example", "list@x.example")
    assert msg.date == datetime(2025, 7, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    assert (msg.message_id, msg.in_reply_to) == ("<id1@x.example>", "<id0@x.example>")
    assert msg.references == ["<r1@x.example>", "<id0@x.example>"]
    assert [n for n, _ in msg.all_headers][:3] == ["Date", "From", "To"]
    assert ("From", "Jörg <j@x.example>") in msg.all_headers


def test_bad_date_is_none():
    assert parse_message(raw("Date: the day after tomorrow\n", "x")).date is None


def test_alternative_picks_html_and_text():
    msg = parse_message(typical_message())
    assert (msg.text, msg.html) == ("Plain body", "<p>HTML body</p>")


def test_alternative_prefers_last_of_each_kind():
    msg = parse_message(raw(MIXED.replace("mixed", "alternative"), """--outer
Content-Type: text/plain

first plain
--outer
Content-Type: text/plain

better plain
--outer--
"""))
    assert msg.text == "better plain" and msg.html is None


def test_related_root_from_start_parameter_and_inline_images():
    head = 'Content-Type: multipart/related; boundary=r; start="<root@x>"\n'
    msg = parse_message(raw(head, """--r
Content-Type: image/png
Content-ID: <logo@x>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--r
Content-Type: text/html
Content-ID: <root@x>

<img src="cid:logo@x">
--r--
"""))
    assert msg.html == '<img src="cid:logo@x">'
    (att,) = msg.attachments
    assert (att.part_id, att.content_id, att.disposition) == ("1", "logo@x", "inline")
    assert att.filename == "attachment-1.png" and msg.inline_images == {"logo@x": att}


def test_format_flowed_is_unwrapped():
    msg = parse_message(raw("Content-Type: text/plain; format=flowed; delsp=no\n",
                            "This is one \nlong line.\n> quoted \n> too\n-- \nsig\n"))
    assert msg.text == "This is one long line.\n> quoted too\n-- \nsig\n"


def test_text_attachment_with_filename_is_not_a_body():
    msg = parse_message(raw(MIXED, """--outer
Content-Type: text/plain

body
--outer
Content-Type: text/plain
Content-Disposition: inline; filename="notes.txt"

notes
--outer--
"""))
    assert msg.text == "body" and [a.filename for a in msg.attachments] == ["notes.txt"]


# --- part numbers and payloads ----------------------------------------------------------

def test_part_ids_follow_imap_section_numbering():
    message = typical_message()
    msg = parse_message(message)
    assert [(a.part_id, a.filename, a.content_type) for a in msg.attachments] == [
        ("2", "report.pdf", "application/pdf"), ("3", "blob.bin", "application/octet-stream")]
    assert part_payload(message, "1.1") == (b"Plain body", "text/plain", "attachment-1.1.txt")
    assert part_payload(message, "1.2")[:2] == (b"<p>HTML body</p>", "text/html")
    assert part_payload(message, "2") == (b"%PDF-1.4\n", "application/pdf", "report.pdf")


def test_single_part_message_body_is_part_1():
    message = raw("Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n",
                  "JVBERi0xLjQK\n")
    (att,) = parse_message(message).attachments
    assert (att.part_id, att.filename, att.size) == ("1", "attachment-1.pdf", 9)
    assert part_payload(message, "1")[0] == b"%PDF-1.4\n"


def test_binary_attachment_round_trips_byte_for_byte():
    message = typical_message()
    data, ctype, name = part_payload(message, "3")
    assert data == BINARY and (ctype, name) == ("application/octet-stream", "blob.bin")
    assert parse_message(message).attachments[1].size == len(BINARY)


def test_parts_inside_attached_message_use_imap_numbers():
    message = raw(MIXED, """--outer
Content-Type: text/plain

outer
--outer
Content-Type: message/rfc822

Subject: inner
Content-Type: multipart/mixed; boundary=in

--in
Content-Type: text/plain

inner text
--in
Content-Type: application/octet-stream; name=inner.bin

INNER
--in--
--outer--
""")
    assert part_payload(message, "2.2") == (b"INNER", "application/octet-stream", "inner.bin")
    assert part_payload(message, "2.1")[0] == b"inner text"


@pytest.mark.parametrize("part_id", ["0", "4", "1.3", "2.1", "1.1.1", "x", "", "1..2", "-1"])
def test_unknown_part_id_raises_typed_error(part_id):
    with pytest.raises(PartNotFound):
        part_payload(typical_message(), part_id)
    assert issubclass(PartNotFound, MailError)


# --- file names ---------------------------------------------------------------------------

def attachment_name(header_lines: str) -> str:
    """The file name parse_message gives the single attachment described by HEADER_LINES."""
    message = raw(MIXED, "--outer\nContent-Type: text/plain\n\nx\n--outer\n"
                         f"{header_lines}\n\ndata\n--outer--\n")
    return parse_message(message).attachments[0].filename


@pytest.mark.parametrize("headers,expected", [
    ("Content-Type: application/pdf\nContent-Disposition: attachment;\n"
     " filename*0*=UTF-8''%E2%82%AC%20Rechnung%20;\n filename*1*=M%C3%A4rz.pdf",
     "€ Rechnung März.pdf"),
    ("Content-Type: text/plain\nContent-Disposition: attachment; "
     "filename*=iso-8859-1'de'Gr%FC%DFe.txt", "Grüße.txt"),
    ('Content-Type: application/pdf; name="=?UTF-8?B?w5xiZXJzaWNodC5wZGY=?="\n'
     "Content-Disposition: attachment", "Übersicht.pdf"),
    ('Content-Type: application/pdf\nContent-Disposition: attachment; filename="=?iso-8859-1?Q?'
     'r=E9sum=E9.pdf?="', "résumé.pdf"),
    ('Content-Type: text/plain\nContent-Disposition: attachment; filename="../../etc/passwd"',
     "passwd"),
    ('Content-Type: application/x-msdownload\nContent-Disposition: attachment; '
     'filename="C:\\\\evil\\\\x.exe"', "x.exe"),
    ("Content-Type: application/pdf\nContent-Disposition: attachment", "attachment-2.pdf"),
    ('Content-Type: image/jpeg\nContent-Disposition: attachment; filename="holiday\u202egpj.exe"',
     "holidaygpj.exe"),
    ('Content-Type: text/plain\nContent-Disposition: attachment; filename="Bericht Ä.txt"',
     "Bericht Ä.txt"),
])
def test_attachment_filenames(headers, expected):
    assert attachment_name(headers) == expected


def test_raw_8bit_filename_uses_the_body_charset():
    message = (b"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
               b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9\r\n--o\r\n"
               b'Content-Type: application/pdf\r\nContent-Disposition: attachment; '
               b'filename="r\xe9sum\xe9.pdf"\r\n\r\n%PDF\r\n--o--\r\n')
    msg = parse_message(message)
    assert msg.text == "café" and msg.attachments[0].filename == "résumé.pdf"
    assert part_payload(message, "2")[2] == "résumé.pdf"


@pytest.mark.parametrize("name,expected", [
    ("../../etc/passwd", "passwd"), ("C:\\evil\\x.exe", "x.exe"), ("..", "fallback.bin"),
    ("  .hidden  ", "hidden"), ("CON.txt", "_CON.txt"), ("a\r\nb\x00c.txt", "abc.txt"),
    ('what?"<>|*.txt', "what______.txt"), ("", "fallback.bin"), (None, "fallback.bin"),
])
def test_safe_filename(name, expected):
    assert safe_filename(name, "fallback.bin") == expected


def test_safe_filename_keeps_extension_when_cutting():
    name = safe_filename("ä" * 300 + ".pdf")
    assert name.endswith("ä.pdf") and len(name.encode()) <= 200


@pytest.mark.parametrize("name,inline,expected", [
    ("report.pdf", False, "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"),
    ("Prüfbericht März.pdf", False,
     "attachment; filename=\"Prufbericht Marz.pdf\"; "
     "filename*=UTF-8''Pr%C3%BCfbericht%20M%C3%A4rz.pdf"),
    ("报告.pdf", True,
     "inline; filename=\"download.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf"),
    ('a"b\\c.txt', False, "attachment; filename=\"c.txt\"; filename*=UTF-8''c.txt"),
    ('x"y;%.txt', False, "attachment; filename=\"x_y;_.txt\"; filename*=UTF-8''x_y%3B%25.txt"),
    ("evil\r\nSet-Cookie: a=b", False,
     "attachment; filename=\"evilSet-Cookie_ a=b\"; filename*=UTF-8''evilSet-Cookie_%20a%3Db"),
    ("", False, "attachment; filename=\"download\"; filename*=UTF-8''download"),
])
def test_content_disposition(name, inline, expected):
    assert content_disposition(name, inline=inline) == expected


# --- the sample newsletters -----------------------------------------------------------

def test_sample_newsletters_parse():
    library = parse_message((SAMPLES / "newsletter_library.eml").read_bytes())
    assert library.subject == "Neuigkeiten im März: Lesenacht & neue E-Books"
    assert "Lesenacht" in library.text and "<table" in library.html and not library.defects
    product = parse_message((SAMPLES / "newsletter_product.eml").read_bytes())
    assert list(product.inline_images) == ["logo.acme@mail.acme-cloud.example"]
    assert product.inline_images["logo.acme@mail.acme-cloud.example"].part_id == "2.2"
    club = parse_message((SAMPLES / "newsletter_club.eml").read_bytes())
    assert club.subject == "La Gazette du Club – sorties d’avril"
    assert club.from_.startswith("Club de Randonnée du Vercors") and "35 €" in club.html
    assert club.text is None
