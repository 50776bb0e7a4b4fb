"""Valid but uncommon mail: digests, unknown text subtypes, text/enriched (issue 16 item 7)."""
from __future__ import annotations

from pathlib import Path

from core.mail.mime import parse_message, part_payload
from core.mail.sanitize import sanitize_html

SAMPLES = Path(__file__).parent / "mail_samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def raw(headers: str, body: str) -> bytes:
    """A message from header lines and a body, with CRLF line ends."""
    return (headers.strip("\n") + "\n\n" + body).replace("\n", "\r\n").encode("utf-8")


def test_digest_shows_each_embedded_message_with_its_headers():
    message = sample("digest_list.eml")
    msg = parse_message(message)
    assert msg.defects == []
    text = msg.text or ""
    toc, first, second = (text.index(s) for s in (
        "Today's Topics", "From: Bob Baker <bob@example.org>", "From: Carol Díaz <carol@example.org>"))
    assert toc < first < text.index("Subject: Route for Saturday") \
        < text.index("We start at the old mill at eight.") < second \
        < text.index("Subject: Re: Route for Saturday") < text.index("café vouchers")
    assert "Date: Mon, 03 Mar 2025 09:15:00 +0000" in text
    # RFC 2046 §5.1.5: typeless parts of a digest are message/rfc822, offered as .eml files
    # as every attached message is.
    assert [(a.part_id, a.content_type, a.filename) for a in msg.attachments] == [
        ("2.1", "message/rfc822", "attachment-2.1.eml"),
        ("2.2", "message/rfc822", "attachment-2.2.eml")]
    assert b"Subject: Route for Saturday" in part_payload(message, "2.1")[0]


def test_digest_entry_with_html_only_is_shown_with_its_headers():
    msg = parse_message(raw("""
Subject: digest
MIME-Version: 1.0
Content-Type: multipart/digest; boundary=d
""", """--d

From: Eve <eve@example.org>
Subject: <b>styled</b>
Content-Type: text/html

<p>Hello from the <em>web</em></p>
--d--
"""))
    assert msg.defects == []
    cleaned = sanitize_html(msg.html, allow_remote=False, cid_map={}).html
    assert "Eve &lt;eve@example.org&gt;" in cleaned and "&lt;b&gt;styled&lt;/b&gt;" in cleaned
    assert "<em>web</em>" in cleaned


def test_unknown_text_subtypes_are_shown_as_plain_text():
    msg = parse_message(sample("unknown_text_subtype.eml"))
    assert msg.defects == [] and msg.attachments == []
    assert msg.text == "Build 881 passed: 412 tests, 0 failures.\n\n## Changes\n\n* faster checkout"


def test_known_text_alternatives_win_over_unknown_ones_and_calendars_stay_files():
    msg = parse_message(raw("""
Subject: invitation
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=m
""", """--m
Content-Type: multipart/alternative; boundary=a

--a
Content-Type: text/plain

plain words
--a
Content-Type: text/x-amp-html

<html amp4email>amp</html>
--a
Content-Type: text/html

<p>html words</p>
--a--
--m
Content-Type: text/calendar; method=REQUEST

BEGIN:VCALENDAR
END:VCALENDAR
--m--
"""))
    assert (msg.text, msg.html) == ("plain words", "<p>html words</p>")
    assert [a.content_type for a in msg.attachments] == ["text/calendar"]


def test_unknown_text_alternative_is_shown_when_nothing_else_is_readable():
    msg = parse_message(raw("""
Subject: odd
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=a
""", """--a
Content-Type: application/x-private

xx
--a
Content-Type: text/x-anything

readable anyway
--a--
"""))
    assert msg.text == "readable anyway" and msg.defects == []


def test_enriched_text_is_shown_with_its_formatting_and_nothing_unsafe():
    msg = parse_message(sample("enriched.eml"))
    assert msg.defects == [] and msg.attachments == []
    cleaned = sanitize_html(msg.html, allow_remote=False, cid_map={}).html
    assert "<b>Minutes</b> of the <i>March</i> meeting, written by Dana.<br>Decisions: " \
           "<u>budget approved</u>; the formula &lt;x&gt; stays <tt>a&lt;b</tt>. " in cleaned
    assert "red" not in cleaned and "Urgent: book the room.<br><br><br>Room  12<br>Floor 3" in cleaned
    assert "<blockquote>Quoted from Bob</blockquote>" in cleaned
    assert "<script" not in cleaned and "<img" not in cleaned
    assert "alert(1) &lt;img src=x onerror=alert(1)&gt;" in cleaned
