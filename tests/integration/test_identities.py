"""Identities, signatures, receipts and priority against the real stack: what Postfix
accepts, what arrives over IMAP, the receipt the original sender gets back."""
import email
import smtplib
import uuid
from email import policy

import pytest

from core.mail import smtp
from core.mail.smtp import HELO_NAME
from core.models import Group, SharedMailbox
from core.services.directory import aliases, lookup
from core.services.directory.lookup import SYSTEM_ACTOR
from core.services.mail import identities
from tests.helpers import PASSWORD, csrf_token, imap_login, new_address, signed_in_client, \
    wait_for_subject
from tests.integration.test_compose import hidden_fields, open_form, post


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default)


def submission_answers(cfg: dict, login: str, senders: list[str], rcpt: str) -> dict[str, int]:
    """The code Postfix's submission gives RCPT TO after MAIL FROM:<sender>, for each sender."""
    settings = smtp.SmtpSettings.submission(cfg)
    answers = {}
    with smtplib.SMTP(settings.host, settings.port, local_hostname=HELO_NAME, timeout=20) as conn:
        conn.starttls(context=settings.ssl_context())
        conn.login(login, PASSWORD)
        for sender in senders:
            conn.mail(sender)
            answers[sender] = conn.rcpt(rcpt)[0]  # smtpd_delay_reject: refusals come at RCPT
            conn.rset()
    return answers


def flags(cfg, address, subject, folder="INBOX"):
    client = imap_login(cfg, address)
    try:
        client.select_folder(folder, readonly=True)
        uid = client.search(["SUBJECT", subject])[0]
        return uid, {f.decode() for f in client.get_flags([uid])[uid]}
    finally:
        client.logout()


@pytest.fixture
def pair(stack_db, domain):
    return new_address(stack_db, domain, "idsend"), new_address(stack_db, domain, "idread")


def test_offered_addresses_are_exactly_those_submission_accepts(app, mail_stack, stack_db, domain,
                                                               pair):
    sender, rcpt = pair
    tag = uuid.uuid4().hex[:8]
    with stack_db.transaction() as session:
        aliases.create_alias(session, SYSTEM_ACTOR, f"sales-{tag}@{domain}", [sender])
        aliases.create_alias(session, SYSTEM_ACTOR, f"any-{tag}@*", [sender])
        aliases.create_alias(session, SYSTEM_ACTOR, f"over-{tag}@*", [sender])
        aliases.create_alias(session, SYSTEM_ACTOR, f"over-{tag}@{domain}", [rcpt])
        group = Group(name=f"g-{tag}")
        group.members.append(lookup.get_mailbox(session, sender))
        session.add(SharedMailbox(domain=lookup.get_domain(session, domain), local_part=f"desk-{tag}",
                                  address=f"desk-{tag}@{domain}", owners=[group]))
        session.flush()
        aliases.create_alias(session, SYSTEM_ACTOR, f"help-{tag}@{domain}", [f"desk-{tag}@{domain}"])
    with stack_db.transaction() as session:
        offered = identities.sendable(session, sender)
        refused = [item.address for item in identities.not_offered(session, sender)]
    assert {f"sales-{tag}@{domain}", f"any-{tag}@{domain}"} <= set(offered)
    assert set(refused) == {f"over-{tag}@{domain}", f"desk-{tag}@{domain}", f"help-{tag}@{domain}"}
    answers = submission_answers(mail_stack, sender, offered + refused, rcpt)
    assert {a for a in offered if answers[a] == 250} == set(offered)
    assert {a for a in refused if answers[a] == 553} == set(refused)

    client = signed_in_client(app, sender)
    page = client.get("/settings/identities").get_data(as_text=True)
    assert f"help-{tag}@{domain}</strong>: an alias of the shared mailbox desk-{tag}@{domain}" in page
    compose_page = client.get("/compose").get_data(as_text=True)
    for address in refused:
        assert f'value="{address}"' not in compose_page


def _set_identity(client, sender, **values):
    page = client.get("/settings/identities", query_string={"identity": sender}).get_data(as_text=True)
    response = client.post("/settings/identities/edit", data={
        "csrf_token": csrf_token(page), "identity": sender, **values})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_identity_settings_reach_the_sent_message(app, mail_stack, stack_db, domain, pair):
    sender, rcpt = pair
    archive = new_address(stack_db, domain, "idarchive")
    tag = uuid.uuid4().hex[:8]
    alias = f"team-{tag}@{domain}"
    with stack_db.transaction() as session:
        aliases.create_alias(session, SYSTEM_ACTOR, alias, [sender])
    client = signed_in_client(app, sender)
    _set_identity(client, alias, display_name="Team Desk", reply_to=f"Desk <{rcpt}>",
                  bcc=archive, signature="Team Desk\nRoom 4")
    page = client.get("/settings/identities").get_data(as_text=True)
    assert client.post("/settings/identities/preferences", data={
        "csrf_token": csrf_token(page), "default_sender": alias,
        "signature_position": "below"}).status_code == 302

    page, fields = open_form(client)
    assert f'<option value="{alias}" selected' in page  # the default identity
    assert "\n\n-- \nTeam Desk\nRoom 4\n</textarea>" in page
    subject = f"identity {tag}"
    response = post(client, "/compose/send", fields, **{"from": alias}, to=rcpt, subject=subject,
                    body="Hello.\n\n-- \nTeam Desk\nRoom 4\n", receipt="on", priority="high")
    assert response.status_code == 302, response.get_data(as_text=True)

    arrived = parse(wait_for_subject(mail_stack, rcpt, subject))
    assert arrived["From"].addresses[0].display_name == "Team Desk"
    assert arrived["From"].addresses[0].addr_spec == alias
    assert arrived["Reply-To"].addresses[0].addr_spec == rcpt
    assert arrived["Disposition-Notification-To"] == alias
    assert (arrived["X-Priority"], arrived["Importance"]) == ("1 (Highest)", "high")
    assert arrived["Bcc"] is None
    text = arrived.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.split("\n-- \n") == ["Hello.\n", "Team Desk\nRoom 4\n"]
    copy = parse(wait_for_subject(mail_stack, archive, subject))  # the automatic Bcc arrived
    assert copy["Message-ID"] == arrived["Message-ID"]
    sent = parse(wait_for_subject(mail_stack, sender, subject, folder="Sent"))
    assert archive in sent["Bcc"] and sent["X-Priority"] == "1 (Highest)"

    # The recipient's list marks it high priority, from the list's one FETCH.
    listing = signed_in_client(app, rcpt).get("/mail").get_data(as_text=True)
    at = listing.index(subject)
    row = listing[listing.rindex("<li", 0, at): listing.index("</li>", at)]
    assert 'aria-label="High priority"' in row


def test_a_reopened_draft_and_a_reply_to_a_reply_have_one_signature(app, mail_stack, pair):
    sender, rcpt = pair
    client = signed_in_client(app, sender)
    _set_identity(client, sender, signature="Sig One")
    page, fields = open_form(client)
    body = page.split('name="body"')[1].split(">", 1)[1].split("</textarea>")[0]
    saved = post(client, "/compose/draft", fields, **{"from": sender}, to=rcpt, subject="d",
                 body="Draft text" + body, accept="application/json").json
    draft_page, _ = open_form(client, draft=saved["draft_uid"])
    assert draft_page.count("-- \nSig One") == 1

    subject = f"thread {uuid.uuid4().hex[:8]}"
    _, fields = open_form(client)
    post(client, "/compose/send", fields, **{"from": sender}, to=rcpt, subject=subject,
         body="First.\n\n-- \nSig One\n")
    wait_for_subject(mail_stack, rcpt, subject)
    reader = signed_in_client(app, rcpt)
    _set_identity(reader, rcpt, signature="Sig Two")
    uid, _ = flags(mail_stack, rcpt, subject)
    reply_page, _ = open_form(reader, reply=uid, folder="INBOX", mode="reply")
    assert "&gt; First." in reply_page and "Sig One" not in reply_page
    assert reply_page.count("-- \nSig Two") == 1


def test_read_receipt_is_asked_sent_as_mdn_and_not_asked_again(app, mail_stack, pair):
    sender, rcpt = pair
    subject = f"receipt {uuid.uuid4().hex[:8]}"
    writer = signed_in_client(app, sender)
    _, fields = open_form(writer)
    original_id = fields["message_id"]
    assert post(writer, "/compose/send", fields, **{"from": sender}, to=rcpt, subject=subject,
                body="Did you read this?", receipt="on").status_code == 302
    wait_for_subject(mail_stack, rcpt, subject)
    uid, before = flags(mail_stack, rcpt, subject)
    assert "$MDNSent" not in before

    reader = signed_in_client(app, rcpt)
    page = reader.get(f"/mail/{uid}").get_data(as_text=True)
    assert 'aria-label="Read receipt"' in page and f"to {sender}" in page
    # Opening it sent nothing: the reader has not answered yet.
    assert "$MDNSent" not in flags(mail_stack, rcpt, subject)[1]
    response = reader.post("/mail/receipt", query_string={"folder": "INBOX"},
                           data={"csrf_token": csrf_token(page), "uid": uid, "answer": "send"})
    assert response.status_code == 302

    mdn = parse(wait_for_subject(mail_stack, sender, f"Read: {subject}"))
    assert mdn["Return-Path"] == "<>"  # RFC 8098 §3: the null return path
    assert mdn.get_content_type() == "multipart/report"
    assert mdn.get_param("report-type") == "disposition-notification"
    report = next(p for p in mdn.iter_parts()
                  if p.get_content_type() == "message/disposition-notification")
    fields = report.get_payload()[0]
    assert fields["Final-Recipient"] == f"rfc822;{rcpt}"
    assert fields["Original-Message-ID"] == original_id
    assert fields["Disposition"] == "manual-action/MDN-sent-manually; displayed"
    assert fields["Reporting-UA"].endswith("; Mailroom")
    assert "$MDNSent" in flags(mail_stack, rcpt, subject)[1]
    again = reader.get(f"/mail/{uid}").get_data(as_text=True)
    assert 'aria-label="Read receipt"' not in again


def test_never_for_this_sender_is_remembered(app, mail_stack, pair):
    sender, rcpt = pair
    writer, reader = signed_in_client(app, sender), signed_in_client(app, rcpt)
    subjects = [f"never {n} {uuid.uuid4().hex[:8]}" for n in (1, 2)]
    for subject in subjects:
        _, fields = open_form(writer)
        post(writer, "/compose/send", fields, **{"from": sender}, to=rcpt, subject=subject,
             body="Tell me", receipt="on")
        wait_for_subject(mail_stack, rcpt, subject)
    uid, _ = flags(mail_stack, rcpt, subjects[0])
    page = reader.get(f"/mail/{uid}").get_data(as_text=True)
    reader.post("/mail/receipt", query_string={"folder": "INBOX"},
                data={"csrf_token": csrf_token(page), "uid": uid, "answer": "never"})
    assert "$MDNSent" in flags(mail_stack, rcpt, subjects[0])[1]
    second, _ = flags(mail_stack, rcpt, subjects[1])
    assert 'aria-label="Read receipt"' not in reader.get(f"/mail/{second}").get_data(as_text=True)
    client = imap_login(mail_stack, sender)
    try:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["SUBJECT", "Read:"]) == []
    finally:
        client.logout()


def test_send_without_scripts_asks_once_about_a_missing_attachment(app, mail_stack, pair):
    sender, rcpt = pair
    client = signed_in_client(app, sender)
    _, fields = open_form(client)
    subject = f"reminder {uuid.uuid4().hex[:8]}"
    values = dict(to=rcpt, subject=subject, body="Il contratto è in allegato.")
    first = post(client, "/compose/send", fields, **{"from": sender}, **values)
    assert first.status_code == 422
    assert "You mention an attachment, but nothing is attached." in first.get_data(as_text=True)
    again = hidden_fields(first.get_data(as_text=True))
    assert again["attachment_check"] == "asked"
    assert post(client, "/compose/send", again, **{"from": sender}, **values).status_code == 302
    wait_for_subject(mail_stack, rcpt, subject)
