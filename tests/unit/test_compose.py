"""Compose logic without daemons: addresses, subjects, threading, MIME, uploads, identities."""
import email
import io
import os
import time
from datetime import datetime, timezone
from email import policy

import pytest

from core.mail.compose import (
    Draft, FilePart, InvalidRecipients, Original, build_message, html_to_text, markdown_html,
    parse_recipients, read_draft, read_original, to_bytes, without_private,
)
from core.services.directory import aliases, lookup
from core.services.mail import compose, contacts, uploads
from core.services.directory.lookup import SYSTEM_ACTOR

PDF = bytes(range(256)) * 40  # every byte value, as a binary file has


def parsed(raw: bytes):
    return email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default)


# ---- addresses --------------------------------------------------------------

def test_recipients_keep_quoted_names_and_normalise_addresses():
    assert parse_recipients('"Doe, Jo" <Jo@Example.TEST>, bo@example.test,, ') == [
        ("Doe, Jo", "jo@example.test"), ("", "bo@example.test")]


def test_invalid_recipients_are_named_as_typed():
    with pytest.raises(InvalidRecipients) as caught:
        parse_recipients("anna@example.test, bob, Carl <carl@>")
    assert caught.value.bad == ["bob", "Carl <carl@>"]


def test_unquoted_comma_in_a_name_is_reported_not_guessed():
    with pytest.raises(InvalidRecipients) as caught:
        parse_recipients("Doe, John <j@example.test>")
    assert caught.value.bad == ["Doe"]


# ---- replies and forwards ---------------------------------------------------

@pytest.mark.parametrize("subject, expected", [
    ("Lunch", "Re: Lunch"), ("Re: Lunch", "Re: Lunch"), ("RE: Re: AW: Lunch", "Re: Lunch"),
    ("Re[2]: Lunch", "Re: Lunch"), ("Fwd: Lunch", "Re: Fwd: Lunch"), ("", "Re: "),
])
def test_reply_subject_never_piles_up(subject, expected):
    assert compose.reply_subject(subject) == expected


@pytest.mark.parametrize("subject, expected", [
    ("Lunch", "Fwd: Lunch"), ("Fwd: FW: Lunch", "Fwd: Lunch"), ("Re: Lunch", "Fwd: Re: Lunch"),
])
def test_forward_subject_never_piles_up(subject, expected):
    assert compose.forward_subject(subject) == expected


def test_references_follow_rfc5322_3_6_4():
    full = Original(message_id="<c@x>", in_reply_to="<b@x>", references="<a@x> <b@x>")
    assert compose.references(full) == "<a@x> <b@x> <c@x>"
    only_parent = Original(message_id="<c@x>", in_reply_to="<b@x>")
    assert compose.references(only_parent) == "<b@x> <c@x>"
    first = Original(message_id="<c@x>")
    assert compose.references(first) == "<c@x>"


def original(**changes) -> Original:
    base = dict(subject="Plans", from_=[("Priya Natarajan", "priya@example.test")],
                to=[("Sam", "sam@example.test"), ("", "team@example.test")],
                cc=[("Lee", "lee@example.test"), ("", "SALES@example.test")],
                date=datetime(2026, 3, 3, 9, 12, tzinfo=timezone.utc),
                message_id="<p1@example.test>", text="Line one\n\nLine three\n")
    base.update(changes)
    return Original(**base)


def test_reply_goes_to_the_sender_and_reply_all_leaves_out_own_addresses():
    own = {"sam@example.test", "sales@example.test"}
    assert compose.reply_recipients(original(), "reply", own) == (
        [("Priya Natarajan", "priya@example.test")], [])
    to, cc = compose.reply_recipients(original(), "all", own)
    assert to == [("Priya Natarajan", "priya@example.test")]
    assert cc == [("", "team@example.test"), ("Lee", "lee@example.test")]


def test_reply_to_header_wins_and_own_sent_mail_replies_to_its_recipients():
    listed = original(reply_to=[("", "list@example.test")])
    assert compose.reply_recipients(listed, "reply", set())[0] == [("", "list@example.test")]
    mine = original(from_=[("Sam", "sam@example.test")])
    assert compose.reply_recipients(mine, "reply", {"sam@example.test"})[0] == [
        ("", "team@example.test")]


def test_reply_draft_quotes_with_attribution_and_threads():
    choices = [compose.Identity("sam@example.test", "Sam"),
               compose.Identity("sales@example.test", "Sam")]
    draft = compose.reply_draft(original(), "all", choices)
    assert draft.subject == "Re: Plans"
    assert draft.sender == "sam@example.test"  # the identity the original was sent to
    assert draft.in_reply_to == "<p1@example.test>"
    assert draft.references == "<p1@example.test>"
    assert draft.body.startswith("On Tue, 3 Mar 2026 at 09:12, Priya Natarajan wrote:\n"
                                 "> Line one\n>\n> Line three\n")
    assert "sam@example.test" not in draft.cc and "sales@" not in draft.cc.lower()
    assert draft.message_id.endswith("@example.test>")


# ---- building messages ------------------------------------------------------

def draft(**changes) -> Draft:
    base = dict(sender="sam@example.test", to='"Rivera, Sam" <a@example.test>',
                bcc="hidden@example.test", subject="Report été", body="See attached.\r\n",
                message_id="<m1@example.test>")
    base.update(changes)
    return Draft(**base)


def test_built_message_has_the_headers_rfc5322_asks_for():
    msg = parsed(to_bytes(build_message(draft(), "Sam Rivera", [])))
    assert msg["From"].addresses[0].display_name == "Sam Rivera"
    assert msg["Message-ID"] == "<m1@example.test>"
    assert msg["MIME-Version"] == "1.0"
    assert msg["Date"].datetime is not None
    assert msg["Subject"] == "Report été"
    assert msg["To"].addresses[0].display_name == "Rivera, Sam"
    assert msg["Bcc"] == "hidden@example.test"  # kept for Sent; smtplib drops it on the wire
    assert msg.get_body(("plain",)).get_content() == "See attached.\n"


def test_attachments_are_typed_and_named_per_rfc2231():
    parts = [FilePart("Prüfbericht 2026.pdf", "application/pdf", PDF),
             FilePart("notes.txt", "text/plain", b"hello\n")]
    raw = to_bytes(build_message(draft(), "Sam", parts))
    assert b"filename*=utf-8''Pr%C3%BCfbericht%202026.pdf" in raw
    files = list(parsed(raw).iter_attachments())
    assert [(f.get_filename(), f.get_content_type()) for f in files] == [
        ("Prüfbericht 2026.pdf", "application/pdf"), ("notes.txt", "text/plain")]
    assert files[0].get_payload(decode=True) == PDF


def test_forwarded_message_is_attached_byte_for_byte():
    inner = b"From: x@example.test\r\nSubject: caf\xc3\xa9\r\n\r\nbody \xff\r\n"
    raw = to_bytes(build_message(draft(), "Sam", [FilePart("x.eml", "message/rfc822", inner)]))
    assert inner in raw
    assert b"Content-Type: message/rfc822" in raw
    assert b"Content-Transfer-Encoding: 8bit" in raw


def test_markdown_sends_an_html_alternative_without_raw_html_or_scripts():
    text = "# Plan\n\n**bold** <script>alert(1)</script> [x](javascript:alert(1)) [ok](https://a.test)\n"
    html = markdown_html(text)
    assert "<h1>Plan</h1>" in html and "<strong>bold</strong>" in html
    assert "<script" not in html and "javascript:" not in html
    assert '<a href="https://a.test">ok</a>' in html
    msg = parsed(to_bytes(build_message(draft(body=text, markdown=True), "Sam", [])))
    assert msg.get_content_type() == "multipart/alternative"
    assert msg.get_body(("plain",)).get_content().startswith("# Plan")


def test_private_headers_ride_only_on_drafts():
    d = draft(markdown=True, reply_mode="reply", reply_uid=7, reply_folder="Projects/Été")
    saved = to_bytes(build_message(d, "Sam", [], for_draft=True))
    assert b"X-Mailroom-Origin" in saved
    sent = to_bytes(without_private(build_message(d, "Sam", [])))
    assert b"X-Mailroom" not in sent


def test_a_draft_reads_back_into_the_same_form():
    d = draft(to="half an addr", cc="lee@example.test", markdown=True, in_reply_to="<p@x>",
              references="<o@x> <p@x>", reply_mode="all", reply_uid=42, reply_folder="INBOX/Été")
    raw = to_bytes(build_message(d, "Sam", [FilePart("a.bin", "application/octet-stream", PDF)],
                                 for_draft=True))
    back, files = read_draft(raw)
    assert (back.to, back.cc, back.bcc, back.subject) == (
        "half an addr", "lee@example.test", "hidden@example.test", "Report été")
    assert back.body == "See attached.\n" and back.markdown
    assert (back.reply_mode, back.reply_uid, back.reply_folder) == ("all", 42, "INBOX/Été")
    assert (back.in_reply_to, back.references) == ("<p@x>", "<o@x> <p@x>")
    assert files == [FilePart("a.bin", "application/octet-stream", PDF)]


def test_a_half_typed_list_keeps_valid_addresses_in_the_real_header():
    raw = to_bytes(build_message(draft(to="anna@example.test, bo"), "Sam", [], for_draft=True))
    assert parsed(raw)["To"].addresses[0].addr_spec == "anna@example.test"
    assert read_draft(raw)[0].to == "anna@example.test, bo"
    with pytest.raises(InvalidRecipients):
        build_message(draft(to="anna@example.test, bo"), "Sam", [])


def test_original_html_only_mail_is_quoted_as_text():
    raw = (b"From: \"Doe, Jo\" <jo@example.test>\r\nTo: sam@example.test\r\nSubject: Hi\r\n"
           b"Message-ID: <h@x>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           b"<html><head><style>p{}</style></head><body><p>Hello <b>there</b></p>"
           b"<script>x()</script><p>Bye</p></body></html>\r\n")
    got = read_original(raw)
    assert got.from_ == [("Doe, Jo", "jo@example.test")]
    assert got.text == "Hello there\n\nBye\n"
    assert html_to_text("<div>a<br>b</div>") == "a\nb\n"


# ---- uploads ----------------------------------------------------------------

class Unreadable(io.RawIOBase):
    def read(self, size=-1):
        raise AssertionError("the body was read although its length was too large")


def workspace(tmp_path) -> uploads.Workspace:
    return uploads.issue(tmp_path, "session-1234")


def test_budget_leaves_the_encoded_message_under_the_limit():
    budget = uploads.attachment_budget(25)
    assert uploads.encoded_size(budget) + uploads.HEADROOM <= 25 * 1024 * 1024
    assert budget > 18 * 1024 * 1024


def test_upload_is_streamed_typed_listed_and_removed(tmp_path):
    space = workspace(tmp_path)
    item = space.add_stream(io.BytesIO(PDF), "../../Q1 report.pdf", 25, len(PDF))
    assert (item.filename, item.content_type, item.size) == ("Q1 report.pdf", "application/pdf", len(PDF))
    assert space.read(item.id) == PDF
    assert space.uploads() == [item]
    assert space.remove(item.id) and space.uploads() == []


def test_too_large_is_refused_before_reading_and_names_the_limit(tmp_path):
    space = workspace(tmp_path)
    with pytest.raises(uploads.TooLarge) as caught:
        space.add_stream(Unreadable(), "big.iso", 1, 2 * 1024 * 1024)
    assert "1 MB" in str(caught.value)
    assert space.uploads() == []


def test_too_large_without_length_stops_while_streaming(tmp_path):
    space = workspace(tmp_path)
    space.add_stream(io.BytesIO(b"x" * 500_000), "a.bin", 1)
    with pytest.raises(uploads.TooLarge):
        space.add_stream(io.BytesIO(b"x" * 600_000), "b.bin", 1)
    assert [u.filename for u in space.uploads()] == ["a.bin"]
    assert not list(space.path.glob("*.part"))


def test_state_survives_clear_and_ids_are_checked(tmp_path):
    space = workspace(tmp_path)
    space.add_bytes(b"abc", "x.txt")
    space.update_state(draft_uid=5, sent=True)
    space.clear()
    assert space.uploads() == [] and space.state() == {"draft_uid": 5, "sent": True}
    with pytest.raises(compose.ServiceError):
        uploads.Workspace(tmp_path, "../etc", "compose-1234")
    with pytest.raises(compose.ServiceError):  # well-formed, but not issued
        uploads.Workspace(tmp_path, "session-1234", "compose-1234")
    assert not space.remove("../compose")


def test_stale_workspaces_are_purged(tmp_path):
    old, fresh = workspace(tmp_path), workspace(tmp_path)
    old.add_bytes(b"a", "a.txt")
    fresh.add_bytes(b"b", "b.txt")
    past = time.time() - 3 * 86400
    for path in [*old.path.iterdir(), old.path]:
        os.utime(path, (past, past))
    assert uploads.purge(tmp_path, {"session-1234"}) == 1
    assert not old.path.exists() and fresh.path.exists()
    uploads.discard_session(tmp_path, "session-1234")
    assert not fresh.path.exists()


# ---- identities and contacts (database only) --------------------------------

def test_identities_are_own_address_and_aliases_delivering_to_it(session):
    lookup.add_domain(session, "example.test")
    lookup.add_mailbox(session, "sam@example.test", "long-enough-pass-1", "Sam Rivera")
    lookup.add_mailbox(session, "lee@example.test", "long-enough-pass-1")
    aliases.create_alias(session, SYSTEM_ACTOR, "sales@example.test", ["sam@example.test"])
    aliases.create_alias(session, SYSTEM_ACTOR, "postmaster@*", ["sam@example.test"])
    aliases.create_alias(session, SYSTEM_ACTOR, "other@example.test", ["lee@example.test"])
    found = compose.identities(session, "sam@example.test")
    assert [i.address for i in found] == ["sam@example.test", "postmaster@example.test",
                                          "sales@example.test"]
    assert found[0].label == "Sam Rivera <sam@example.test>"
    assert compose.pick_identity(found, "Sales@Example.test").address == "sales@example.test"
    with pytest.raises(compose.InvalidInput):
        compose.pick_identity(found, "lee@example.test")
    matches = contacts.directory_matches(session, "rivera", "lee@example.test")
    assert matches == [contacts.Contact("Sam Rivera", "sam@example.test")]
    assert contacts.directory_matches(session, "%", "lee@example.test") == []
    lookup.add_domain(session, "elsewhere.test")
    lookup.add_mailbox(session, "rivera@elsewhere.test", "long-enough-pass-1")
    assert contacts.directory_matches(session, "rivera", "lee@example.test") == matches
    assert [c.address for c in contacts.directory_matches(session, "rivera", "x@elsewhere.test")] \
        == ["rivera@elsewhere.test"]


def test_contact_label_quotes_names_that_need_it():
    assert contacts.Contact("Doe, Jo", "jo@x.test").label == '"Doe, Jo" <jo@x.test>'
    assert contacts.Contact("", "jo@x.test").label == "jo@x.test"
