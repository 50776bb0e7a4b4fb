"""Hostile input, generated (issue 16 item 4): hypothesis builds what a careful test would not.

Malformed MIME (broken boundaries, bad charsets and encodings, deep nesting, NUL bytes,
huge and RFC 2047-abusing headers, invalid dates) must parse into something the message
view can show; text with quotes, CR/LF, NUL and non-ASCII must never start a new header
in composed mail, a new line in a Content-Disposition, or escape its place in a Sieve
script or a search.
"""
from __future__ import annotations

import email
import email.policy
import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.mail import compose, mime, sanitize, search, sieve_rules
from core.mail.mime_files import content_disposition
from core.models import normalize_address
from core.models.base import InvalidName
from core.services.errors import InvalidInput
from core.services.mail import reading
from core.services.personal import filters
from core.services.personal.validation import InvalidField
from tests.strategies import mime_part, nasty_text

# 150 examples a test in CI (about 15 s in all); MAILROOM_HYPOTHESIS_EXAMPLES=3000 to hunt.
FAST = settings(max_examples=int(os.environ.get("MAILROOM_HYPOTHESIS_EXAMPLES", "150")),
                deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(mime_part())
@example(b"Content-Type: text/plain; charset=us-ascii\0\r\n\r\n")  # was a 500: ValueError
def test_any_message_parses_into_something_the_view_can_show(raw):
    parsed = mime.parse_message(raw)
    assert isinstance(parsed.subject, str) and isinstance(parsed.defects, list)
    html = reading.body_html(raw, False, parsed)
    assert html is None or "<script" not in html.html.lower()
    sanitize.text_to_html(parsed.text or "")
    reading.people(parsed.from_)
    for attachment in parsed.attachments:
        payload, _, filename = reading.part(raw, attachment.part_id)
        assert isinstance(payload, bytes) and "/" not in filename and "\n" not in filename


def test_ten_thousand_parts_and_deep_nesting_parse():
    many = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % n for n in range(10_000))
    wide = b"Subject: wide\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + many + b"--b--\r\n"
    deep = b"Content-Type: text/plain\r\n\r\nthe bottom\r\n"
    for level in range(200):
        deep = (b"Content-Type: multipart/mixed; boundary=l%d\r\n\r\n--l%d\r\n" % (level, level)
                + deep + b"\r\n--l%d--\r\n" % level)
    for raw in (wide, b"Subject: deep\r\n" + deep):
        parsed = mime.parse_message(raw)
        assert parsed.subject in ("wide", "deep")


@FAST
@given(subject=nasty_text, name=nasty_text, to_name=nasty_text, body=nasty_text)
def test_no_text_typed_into_compose_starts_a_new_header(subject, name, to_name, body):
    quoted = to_name.replace("\\", "\\\\").replace('"', '\\"')
    draft = compose.Draft(sender="me@example.test", to=f'"{quoted}" <you@example.test>',
                          subject=subject, body=body, message_id="<x@example.test>")
    try:
        msg = compose.build_message(draft, name, [])
    except compose.InvalidRecipients:
        return  # refused with a message, not sent
    raw = compose.to_bytes(msg)
    head = raw.split(b"\r\n\r\n", 1)[0]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    names = [n.lower() for n in parsed.keys()]
    assert names.count("subject") == 1 and names.count("from") == 1 and names.count("to") <= 1
    assert set(names) <= {"date", "from", "to", "subject", "message-id", "user-agent",
                          "mime-version", "content-type", "content-transfer-encoding"}
    assert b"\r\n\r\n" not in head and b"\0" not in head


@FAST
@given(nasty_text, st.booleans())
def test_any_filename_gives_one_safe_content_disposition_line(filename, inline):
    value = content_disposition(filename, inline)
    value.encode("latin-1")  # an HTTP header value
    assert "\r" not in value and "\n" not in value and "\0" not in value
    ascii_name = value.split('filename="', 1)[1].split('"; filename*=', 1)[0]
    assert "/" not in ascii_name and "\\" not in ascii_name and ascii_name not in ("", ".", "..")


@FAST
@given(nasty_text)
def test_any_search_text_gives_a_query_or_a_plain_refusal(text):
    try:
        query = search.parse(text)
    except search.QueryError:
        return
    for criterion in query.criteria:  # imapclient quotes each; none may break the line
        assert not any(ord(c) < 32 or ord(c) == 127 for c in str(criterion)), query.criteria


# A folder the server has: Dovecot refuses control characters in mailbox names.
folder_name = nasty_text.filter(lambda name: not any(ord(c) < 32 or ord(c) == 127 for c in name))


@FAST
@given(name=nasty_text, value=nasty_text, folder=folder_name)
def test_rule_names_and_values_survive_a_sieve_round_trip(name, value, folder):
    typed = sieve_rules.Rule(name, [sieve_rules.Condition("subject", "contains", value)],
                             [sieve_rules.Action("move", folder)])
    try:
        rule = filters.check_rule(typed, [folder], "me@example.test")
    except (InvalidField, InvalidInput):
        return  # refused next to the field
    back = sieve_rules.read(sieve_rules.write(sieve_rules.RuleSet(rules=[rule])))
    assert back.rules == [rule]


@FAST
@given(st.one_of(nasty_text, st.builds(lambda l, d: f"{l}@{d}", nasty_text, nasty_text)))
def test_any_address_text_normalises_or_is_refused(text):
    try:
        address = normalize_address(text)
    except InvalidName:
        return
    local, _, domain = address.rpartition("@")
    assert local and domain and domain.isascii() and "\n" not in address and " " not in domain
