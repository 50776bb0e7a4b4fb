"""Compose against the real stack: the web app sends through Postfix, files drafts and Sent in Dovecot."""
import email
import html
import os
import re
import uuid
from email import policy

import pytest

from core.mail import smtp
from core.services.directory import aliases, lookup
from core.services.directory.lookup import SYSTEM_ACTOR
from tests.helpers import PASSWORD, imap_login, message, new_address, signed_in_client, wait_for_subject

MB = 1024 * 1024


def hidden_fields(page: str) -> dict:
    """Every hidden input of the compose form (and its csrf token)."""
    found = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in found}


def field_value(page: str, field_id: str) -> str:
    match = re.search(rf'id="{field_id}"[^>]*value="([^"]*)"', page, re.S)
    return html.unescape(match.group(1)) if match else ""


def open_form(client, **params) -> tuple[str, dict]:
    response = client.get("/compose", query_string=params)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    return page, hidden_fields(page)


def upload(client, fields, name, data):
    return client.post("/compose/upload", query_string={"compose": fields["compose_id"], "name": name},
                       data=data, headers={"X-CSRFToken": fields["csrf_token"],
                                           "Content-Type": "application/octet-stream",
                                           "Accept": "application/json"})


def post(client, path, fields, **values):
    data = {**fields, **values}
    data.setdefault("from", values.get("from", ""))
    return client.post(path, data=data, headers={"Accept": values.pop("accept", "text/html")})


def folder_uids(cfg, address, folder):
    client = imap_login(cfg, address)
    try:
        client.select_folder(folder, readonly=True)
        return client.search(["ALL"])
    finally:
        client.logout()


def flags_of(cfg, address, folder, uid):
    client = imap_login(cfg, address)
    try:
        client.select_folder(folder, readonly=True)
        return {f.decode() for f in client.get_flags([uid])[uid]}
    finally:
        client.logout()


def inbox_uid(cfg, address, subject):
    raw = wait_for_subject(cfg, address, subject)
    client = imap_login(cfg, address)
    try:
        client.select_folder("INBOX", readonly=True)
        return client.search(["SUBJECT", subject])[0], raw
    finally:
        client.logout()


@pytest.fixture
def people(mail_stack, stack_db, domain):
    """A sender (with a display name) and a recipient."""
    sender = new_address(stack_db, domain, "writer")
    with stack_db.transaction() as session:
        lookup.get_mailbox(session, sender).display_name = "Wren Writer"
    return sender, new_address(stack_db, domain, "reader")


def test_two_attachments_arrive_byte_identical_and_a_copy_is_in_sent(app, mail_stack, people):
    sender, rcpt = people
    client = signed_in_client(app, sender)
    page, fields = open_form(client)
    assert 'name="from"' in page and sender in page
    binary, text = os.urandom(300_000) + bytes(range(256)), "Grüße\nzwei Zeilen\n".encode()
    for name, data in (("Prüfbericht 2026.pdf", binary), ("notes.txt", text)):
        assert upload(client, fields, name, data).status_code == 200
    subject = f"attachments {uuid.uuid4().hex}"
    response = post(client, "/compose/send", fields, **{"from": sender}, to=rcpt,
                    subject=subject, body="Two files attached.")
    assert response.status_code == 302
    msg = email.message_from_bytes(wait_for_subject(mail_stack, rcpt, subject), policy=policy.default)
    assert msg["From"].addresses[0].display_name == "Wren Writer"
    assert msg["Message-ID"].endswith(f"@{sender.split('@')[1]}>")
    assert msg["Bcc"] is None
    files = {p.get_filename(): p for p in msg.iter_attachments()}
    assert files["Prüfbericht 2026.pdf"].get_content_type() == "application/pdf"
    assert files["Prüfbericht 2026.pdf"].get_payload(decode=True) == binary
    assert files["notes.txt"].get_payload(decode=True) == text
    sent = folder_uids(mail_stack, sender, "Sent")
    assert len(sent) == 1 and "\\Seen" in flags_of(mail_stack, sender, "Sent", sent[0])


def test_reply_keeps_threading_headers_and_marks_the_original_answered(app, mail_stack, people):
    sender, rcpt = people
    subject = f"threaded {uuid.uuid4().hex}"
    original = message(sender, rcpt, subject, "Shall we meet on Friday?")
    original["Message-ID"] = parent = f"<{uuid.uuid4().hex}@example.test>"
    original["References"] = "<root@example.test>"
    smtp.send(smtp.SmtpSettings.submission(mail_stack), original, login=(sender, PASSWORD))
    uid, _ = inbox_uid(mail_stack, rcpt, subject)

    client = signed_in_client(app, rcpt)
    page, fields = open_form(client, reply=uid, folder="INBOX", mode="reply")
    assert field_value(page, "c-to") == sender
    assert field_value(page, "c-subject") == f"Re: {subject}"
    assert "wrote:\n&gt; Shall we meet on Friday?" in page
    response = post(client, "/compose/send", fields, **{"from": rcpt}, to=sender,
                    subject=f"Re: {subject}", body="Yes.\n\n> Shall we meet on Friday?")
    assert response.status_code == 302

    reply = email.message_from_bytes(wait_for_subject(mail_stack, sender, f"Re: {subject}"),
                                     policy=policy.default)
    assert reply["In-Reply-To"] == parent
    assert reply["References"].split() == ["<root@example.test>", parent]
    assert "\\Answered" in flags_of(mail_stack, rcpt, "INBOX", uid)


def test_forward_as_attachment_sets_forwarded(app, mail_stack, stack_db, domain, people):
    sender, rcpt = people
    third = new_address(stack_db, domain, "third")
    subject = f"forward me {uuid.uuid4().hex}"
    smtp.send(smtp.SmtpSettings.submission(mail_stack), message(sender, rcpt, subject),
              login=(sender, PASSWORD))
    uid, original = inbox_uid(mail_stack, rcpt, subject)

    client = signed_in_client(app, rcpt)
    page, fields = open_form(client, reply=uid, folder="INBOX", mode="forward-attachment")
    assert field_value(page, "c-subject") == f"Fwd: {subject}"
    assert "forward me" in page and ".eml" in page
    response = post(client, "/compose/send", fields, **{"from": rcpt}, to=third,
                    subject=f"Fwd: {subject}", body="See below.")
    assert response.status_code == 302
    forwarded = email.message_from_bytes(wait_for_subject(mail_stack, third, f"Fwd: {subject}"),
                                         policy=policy.default)
    attached = next(forwarded.iter_attachments())
    assert attached.get_content_type() == "message/rfc822"
    assert attached.get_payload()[0]["Subject"] == subject
    assert "$Forwarded" in flags_of(mail_stack, rcpt, "INBOX", uid)


def test_inline_forward_carries_the_text_and_the_attachments(app, mail_stack, stack_db, domain,
                                                           people):
    sender, rcpt = people
    third = new_address(stack_db, domain, "third")
    subject = f"inline {uuid.uuid4().hex}"
    original = message(sender, rcpt, subject, "The numbers are attached.")
    original.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="numbers.csv")
    smtp.send(smtp.SmtpSettings.submission(mail_stack), original, login=(sender, PASSWORD))
    uid, _ = inbox_uid(mail_stack, rcpt, subject)
    client = signed_in_client(app, rcpt)
    page, fields = open_form(client, reply=uid, folder="INBOX", mode="forward")
    assert "---------- Forwarded message ----------" in page
    assert "The numbers are attached." in page and "numbers.csv" in page
    assert post(client, "/compose/send", fields, **{"from": rcpt}, to=third,
                subject=f"Fwd: {subject}", body="FYI").status_code == 302
    arrived = email.message_from_bytes(wait_for_subject(mail_stack, third, f"Fwd: {subject}"),
                                       policy=policy.default)
    assert [p.get_payload(decode=True) for p in arrived.iter_attachments()] == [b"a,b\n1,2\n"]
    assert "$Forwarded" in flags_of(mail_stack, rcpt, "INBOX", uid)


def test_autosaved_twice_then_sent_leaves_one_sent_and_no_draft(app, mail_stack, people):
    sender, rcpt = people
    client = signed_in_client(app, sender)
    _, fields = open_form(client)
    subject = f"drafted {uuid.uuid4().hex}"
    uids = []
    for body in ("First words", "First words, then more"):
        response = post(client, "/compose/draft", fields, **{"from": sender}, to=rcpt,
                        subject=subject, body=body, accept="application/json")
        assert response.status_code == 200 and response.json["saved"]
        uids.append(response.json["draft_uid"])
        assert folder_uids(mail_stack, sender, "Drafts") == [uids[-1]]
    assert uids[0] != uids[1]
    assert {"\\Draft", "\\Seen"} <= flags_of(mail_stack, sender, "Drafts", uids[1])
    response = post(client, "/compose/send", {**fields, "draft_uid": str(uids[1])},
                    **{"from": sender}, to=rcpt, subject=subject, body="Final words")
    assert response.status_code == 302
    wait_for_subject(mail_stack, rcpt, subject)
    assert folder_uids(mail_stack, sender, "Drafts") == []
    assert len(folder_uids(mail_stack, sender, "Sent")) == 1
    late = post(client, "/compose/draft", fields, **{"from": sender}, to=rcpt, subject=subject,
                body="a beacon after the send", accept="application/json")
    assert late.status_code == 409 and folder_uids(mail_stack, sender, "Drafts") == []


def test_discard_deletes_the_saved_draft_for_good(app, mail_stack, people):
    sender, rcpt = people
    client = signed_in_client(app, sender)
    _, fields = open_form(client)
    saved = post(client, "/compose/draft", fields, **{"from": sender}, to=rcpt,
                 subject="never mind", body="x", accept="application/json").json
    assert folder_uids(mail_stack, sender, "Drafts") == [saved["draft_uid"]]
    assert post(client, "/compose/discard", fields).status_code == 302
    assert folder_uids(mail_stack, sender, "Drafts") == []
    late = post(client, "/compose/draft", fields, **{"from": sender}, to=rcpt,
                subject="never mind", body="x", accept="application/json")
    assert late.status_code == 409 and "discarded" in late.json["error"]


def test_refused_recipient_keeps_everything_and_says_why(app, mail_stack, domain, people):
    sender, _ = people
    client = signed_in_client(app, sender)
    _, fields = open_form(client)
    assert upload(client, fields, "plan.txt", b"the plan\n").status_code == 200
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@{domain}"
    subject = f"refused {uuid.uuid4().hex}"
    response = post(client, "/compose/send", fields, **{"from": sender}, to=nobody,
                    subject=subject, body="Words that must not be lost.")
    page = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "did not accept" in page and nobody in page and "550" in page
    assert "saved in Drafts" in page
    assert "Words that must not be lost." in page and field_value(page, "c-to") == nobody
    assert "plan.txt" in page
    drafts = folder_uids(mail_stack, sender, "Drafts")
    assert len(drafts) == 1 and hidden_fields(page)["draft_uid"] == str(drafts[0])
    client_imap = imap_login(mail_stack, sender)
    try:
        client_imap.select_folder("Drafts", readonly=True)
        raw = client_imap.fetch(drafts, ["RFC822"])[drafts[0]][b"RFC822"]
    finally:
        client_imap.logout()
    saved = email.message_from_bytes(raw, policy=policy.default)
    assert saved["Subject"] == subject
    assert [p.get_filename() for p in saved.iter_attachments()] == ["plan.txt"]
    assert folder_uids(mail_stack, sender, "Sent") == []


def test_reopened_draft_brings_back_text_and_attachments(app, mail_stack, people):
    sender, rcpt = people
    client = signed_in_client(app, sender)
    _, fields = open_form(client)
    upload(client, fields, "photo.png", b"\x89PNG\r\n\x1a\n" + os.urandom(1000))
    subject = f"reopen {uuid.uuid4().hex}"
    saved = post(client, "/compose/draft", fields, **{"from": sender}, to=f"{rcpt}, half",
                 subject=subject, body="Unfinished", accept="application/json").json
    page, again = open_form(client, draft=saved["draft_uid"])
    assert field_value(page, "c-subject") == subject
    assert field_value(page, "c-to") == f"{rcpt}, half"
    assert "Unfinished" in page and "photo.png" in page
    assert again["draft_uid"] == str(saved["draft_uid"])
    response = post(client, "/compose/send", again, **{"from": sender}, to=rcpt,
                    subject=subject, body="Finished")
    assert response.status_code == 302
    arrived = email.message_from_bytes(wait_for_subject(mail_stack, rcpt, subject),
                                       policy=policy.default)
    assert [p.get_content_type() for p in arrived.iter_attachments()] == ["image/png"]
    assert folder_uids(mail_stack, sender, "Drafts") == []


def test_oversized_upload_is_refused_with_the_limit_named(app, people):
    sender, _ = people
    client = signed_in_client(app, sender)
    _, fields = open_form(client)
    response = upload(client, fields, "huge.bin", b"\0" * (20 * MB))
    assert response.status_code == 413
    assert "25 MB" in response.json["error"]
    small = upload(client, fields, "small.bin", b"\0" * MB)
    assert small.status_code == 200 and small.json["total"] == MB


def test_bad_addresses_and_foreign_senders_are_refused_with_the_form_kept(app, people):
    sender, rcpt = people
    client = signed_in_client(app, sender)
    _, fields = open_form(client)
    response = post(client, "/compose/send", fields, **{"from": sender}, to=f"{rcpt}, bob",
                    cc="Carl <carl@>", subject="typo", body="Keep me")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "not e-mail addresses: bob, Carl &lt;carl@&gt;" in page and "Keep me" in page
    response = post(client, "/compose/send", fields, **{"from": rcpt}, to=rcpt,
                    subject="spoof", body="x")
    assert response.status_code == 422 and "You cannot send as" in response.get_data(as_text=True)


def test_alias_is_an_identity_and_contacts_suggest_recent_and_local(app, mail_stack, stack_db,
                                                                    domain, people):
    sender, rcpt = people
    alias = f"desk-{uuid.uuid4().hex[:6]}@{domain}"
    name = f"Desk {uuid.uuid4().hex[:6]}"
    with stack_db.transaction() as session:
        aliases.create_alias(session, SYSTEM_ACTOR, alias, [sender])
        lookup.get_mailbox(session, sender).display_name = name
    client = signed_in_client(app, sender)
    page, fields = open_form(client)
    assert f'<option value="{alias}"' in page
    subject = f"as alias {uuid.uuid4().hex}"
    assert post(client, "/compose/send", fields, **{"from": alias}, to=rcpt, subject=subject,
                body="From the desk.").status_code == 302
    assert email.message_from_bytes(wait_for_subject(mail_stack, rcpt, subject),
                                    policy=policy.default)["From"].addresses[0].addr_spec == alias
    recent = client.get("/compose/contacts", query_string={"q": rcpt[:10]}).json
    assert recent[0]["address"] == rcpt
    local = client.get("/compose/contacts", query_string={"q": name[-6:].upper()}).json
    assert local == [{"name": name, "address": sender, "label": f"{name} <{sender}>"}]
