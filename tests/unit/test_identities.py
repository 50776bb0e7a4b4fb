"""Identities, signatures, receipts, priority and the attachment reminder, without daemons."""
import email
from email import policy

import pytest

from core.mail import receipts, reminder
from core.mail.compose import OUTGOING, Draft, Original, build_message, read_draft, to_bytes
from core.mail.signature import with_signature, without_signature
from core.models import Group, SharedMailbox
from core.services.directory import aliases, lookup
from core.services.directory.lookup import SYSTEM_ACTOR
from core.services.mail import compose, identities
from core.services.personal.validation import InvalidField


def parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default)


@pytest.fixture
def sam(session):
    """sam@example.test with aliases of every kind around him."""
    lookup.add_domain(session, "example.test")
    lookup.add_domain(session, "other.test")
    lookup.add_mailbox(session, "sam@example.test", "long-enough-pass-1", "Sam Rivera")
    lookup.add_mailbox(session, "lee@example.test", "long-enough-pass-1")
    aliases.create_alias(session, SYSTEM_ACTOR, "sales@example.test", ["sam@example.test"])
    aliases.create_alias(session, SYSTEM_ACTOR, "postmaster@*", ["sam@example.test"])
    aliases.create_alias(session, SYSTEM_ACTOR, "abuse@*", ["sam@example.test"])
    aliases.create_alias(session, SYSTEM_ACTOR, "abuse@example.test", ["lee@example.test"])
    team = Group(name="team")
    team.members.append(lookup.get_mailbox(session, "sam@example.test"))
    domain = lookup.get_domain(session, "example.test")
    session.add(SharedMailbox(domain=domain, local_part="desk", address="desk@example.test",
                              owners=[team]))
    session.flush()
    aliases.create_alias(session, SYSTEM_ACTOR, "help@example.test", ["desk@example.test"])
    session.commit()
    return "sam@example.test"


def test_offered_addresses_follow_the_sender_login_map(session, sam):
    # As sender_login.cf: a '*' alias counts on every domain without its own alias of that name.
    assert identities.sendable(session, sam) == [
        "sam@example.test", "abuse@other.test", "postmaster@example.test",
        "postmaster@other.test", "sales@example.test"]
    why = {item.address: item.reason for item in identities.not_offered(session, sam)}
    assert set(why) == {"desk@example.test", "help@example.test", "abuse@example.test"}
    assert "shared mailbox" in why["desk@example.test"]
    assert "desk@example.test" in why["help@example.test"]
    assert "has its own abuse@ alias" in why["abuse@example.test"]


def test_identity_settings_and_the_default_come_first(session, sam):
    identities.save_identity(session, sam, "sales@example.test", {
        "display_name": "Sales team", "reply_to": "Desk <desk@example.test>",
        "bcc": "archive@other.test, Boss@Other.test", "signature": "Sam\r\nSales\n\n",
        "signature_markdown": "on"})
    identities.save_preferences(session, sam, "sales@example.test", True)
    session.commit()
    found = identities.identities(session, sam)
    assert found[0] == identities.Identity(
        "sales@example.test", "Sales team", "Desk <desk@example.test>",
        "archive@other.test, boss@other.test", "Sam\nSales", True)
    assert found[1].address == "sam@example.test" and found[1].name == "Sam Rivera"
    assert identities.preferences(session, sam).signature_above_quote is True
    with pytest.raises(InvalidField) as caught:
        identities.save_identity(session, sam, "lee@example.test", {})
    assert caught.value.field == "form"
    with pytest.raises(InvalidField) as caught:
        identities.save_identity(session, sam, "sam@example.test", {"reply_to": "a@x.test, b@x.test"})
    assert caught.value.field == "reply_to"
    with pytest.raises(InvalidField):
        identities.save_preferences(session, sam, "desk@example.test", False)


# ---- signatures ---------------------------------------------------------------

def test_signature_goes_below_the_separator_once():
    assert with_signature("", "Sam\n") == "\n\n-- \nSam\n"
    reply = with_signature("On Mon, Lee wrote:\n> hi\n", "Sam")
    assert reply == "On Mon, Lee wrote:\n> hi\n\n\n\n-- \nSam\n"
    above = with_signature("On Mon, Lee wrote:\n> hi\n", "Sam", above=True)
    assert above == "\n\n-- \nSam\n\nOn Mon, Lee wrote:\n> hi\n"
    assert with_signature("text", "  \n") == "text"
    assert without_signature("Yes.\n\n-- \nLee\nSales\n") == "Yes.\n"
    assert without_signature("a -- b\n--\n") == "a -- b\n--\n"


def test_replying_to_a_reply_quotes_no_old_signature_and_adds_one_new():
    original = Original(subject="Lunch", from_=[("Lee", "lee@example.test")],
                        to=[("", "sam@example.test")], text="Yes!\n\n-- \nLee\n",
                        message_id="<1@example.test>")
    choices = [identities.Identity("sam@example.test", "Sam", signature="Sam\nSales")]
    draft = compose.signed(compose.reply_draft(original, "reply", choices), choices[0])
    assert draft.body.count("-- \n") == 1
    assert draft.body.endswith("> Yes!\n\n\n\n-- \nSam\nSales\n")
    assert "Lee\n" not in draft.body.split("-- \n")[0].split("wrote:")[1]


# ---- headers: Reply-To, Bcc, receipt, priority -----------------------------------

def test_identity_reply_to_bcc_receipt_and_priority_reach_the_message():
    draft = Draft(sender="sam@example.test", to="lee@example.test", bcc="lee@example.test",
                  subject="Plan", body="Hi", message_id="<p@example.test>", receipt=True,
                  priority="high")
    identity = identities.Identity("sam@example.test", "Sam", reply_to="desk@example.test",
                                   bcc="archive@other.test, lee@example.test")
    outgoing = compose.with_identity_bcc(draft, identity)
    assert outgoing.bcc == "lee@example.test, archive@other.test" and draft.bcc == "lee@example.test"
    msg = parsed(to_bytes(build_message(outgoing, "Sam", [], reply_to=identity.reply_to)))
    assert msg["Reply-To"] == "desk@example.test"
    assert msg["Disposition-Notification-To"] == "sam@example.test"
    assert (msg["X-Priority"], msg["Importance"]) == ("1 (Highest)", "high")
    saved, _ = read_draft(to_bytes(build_message(draft, "Sam", [], for_draft=True)))
    assert (saved.receipt, saved.priority) == (True, "high")
    plain = parsed(to_bytes(build_message(Draft(sender="sam@example.test", body="x"), "", [])))
    assert plain["X-Priority"] is None and plain["Disposition-Notification-To"] is None


def test_priority_is_read_from_either_header():
    assert receipts.priority_from_header_block(b"X-Priority: 2 (High)\r\n\r\n") == "high"
    assert receipts.priority_from_header_block(b"Importance: Low\r\n\r\n") == "low"
    assert receipts.priority_from_header_block(b"X-Priority: 3\r\nImportance: high\r\n") == ""
    assert receipts.priority_from_header_block(b"") == ""


def test_the_receipt_is_an_rfc_8098_report():
    original = parsed(b"From: Lee <lee@example.test>\r\nTo: sam@example.test\r\n"
                      b"Subject: Plan\r\nMessage-ID: <plan@example.test>\r\n"
                      b"Disposition-Notification-To: Lee <lee@example.test>\r\n\r\nHi\r\n")
    mdn = parsed(to_bytes(receipts.build_mdn(original, "sam@example.test", "Sam",
                                             "mail.example.test", OUTGOING)))
    assert mdn["To"] == "lee@example.test" and mdn["Subject"] == "Read: Plan"
    assert mdn.get_content_type() == "multipart/report"
    assert mdn.get_param("report-type") == "disposition-notification"
    human, machine = mdn.get_payload()
    assert human.get_content_type() == "text/plain"
    assert machine.get_content_type() == "message/disposition-notification"
    fields = machine.get_payload()[0]
    assert fields["Reporting-UA"] == "mail.example.test; Mailroom"
    assert fields["Final-Recipient"] == "rfc822;sam@example.test"
    assert fields["Original-Message-ID"] == "<plan@example.test>"
    assert fields["Disposition"] == "manual-action/MDN-sent-manually; displayed"
    assert receipts.receipt_address(parsed(b"Subject: x\r\n\r\n")) == ""


# ---- attachment reminder -----------------------------------------------------------

@pytest.mark.parametrize("text", ["The report is attached.", "See the attachment", "I attach it",
                                  "In allegato il file", "ecco gli allegati",
                                  "Im Anhang die Liste", "Ich habe es angehängt"])
def test_reminder_words_in_three_languages(text):
    assert reminder.mentions_attachment(text)


@pytest.mark.parametrize("text", ["Attaché case", "> see the attachment\nThanks",
                                  "Thanks\n\n-- \nAttachments are confidential",
                                  "FYI\n\n---------- Forwarded message ----------\nattached"])
def test_reminder_ignores_quotes_signatures_and_forwarded_text(text):
    assert not reminder.mentions_attachment(text)
