"""A person sets up identities and signatures, writes with them, and answers a read receipt."""
import email
import uuid
from email import policy

import pytest

from core.mail import smtp
from core.services.directory import aliases
from core.services.directory.lookup import SYSTEM_ACTOR
from tests.helpers import PASSWORD, imap_login, message, new_address, sign_in, wait_for_subject

pytestmark = pytest.mark.browser


def parse(raw: bytes):
    return email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default)


def save_identity(page, live_url, address, signature, name=""):
    page.goto(f"{live_url}/settings/identities?identity={address}")
    page.get_by_role("heading", name=address).wait_for()
    if name:
        page.get_by_label("Display name").fill(name)
    page.get_by_label("Signature", exact=True).fill(signature)
    page.get_by_role("button", name="Save identity").click()
    page.get_by_text(f"Saved the identity {address}").wait_for()


def test_signatures_per_identity_swap_in_compose_and_arrive(page, live_url, mail_stack, stack_db,
                                                            domain):
    sender = new_address(stack_db, domain, "bident")
    rcpt = new_address(stack_db, domain, "bidrcpt")
    alias = f"office-{uuid.uuid4().hex[:8]}@{domain}"
    with stack_db.transaction() as session:
        aliases.create_alias(session, SYSTEM_ACTOR, alias, [sender])
    sign_in(page, live_url, sender)
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings sections").get_by_role(
        "link", name="Identities").click()
    page.get_by_role("heading", name="Identities", exact=True).wait_for()
    assert page.get_by_role("link", name=alias).is_visible()
    save_identity(page, live_url, sender, "Own Name\nDirect line")
    save_identity(page, live_url, alias, "The Office\nFront desk", name="Front Office")

    page.goto(live_url + "/compose")
    body = page.get_by_label("Message", exact=True)
    assert body.input_value() == "\n\n-- \nOwn Name\nDirect line\n"
    body.focus()
    page.keyboard.press("Control+Home")
    page.keyboard.type("Typed before the switch.")
    page.get_by_label("From").select_option(alias)
    assert body.input_value() == "Typed before the switch.\n\n-- \nThe Office\nFront desk\n"
    page.get_by_label("To", exact=True).fill(rcpt)
    subject = f"browser identity {uuid.uuid4().hex[:8]}"
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Request a read receipt").check()
    page.get_by_label("Priority").select_option("high")
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Message sent to").wait_for()

    arrived = parse(wait_for_subject(mail_stack, rcpt, subject))
    assert arrived["From"].addresses[0].addr_spec == alias
    assert arrived["From"].addresses[0].display_name == "Front Office"
    assert arrived.get_body(("plain",)).get_content() == \
        "Typed before the switch.\n\n-- \nThe Office\nFront desk\n"
    assert arrived["Disposition-Notification-To"] == alias
    assert arrived["X-Priority"] == "1 (Highest)"


def test_send_asks_once_about_a_missing_attachment(page, live_url, mail_stack, stack_db, domain):
    sender = new_address(stack_db, domain, "bremind")
    rcpt = new_address(stack_db, domain, "bremrcpt")
    sign_in(page, live_url, sender)
    page.goto(live_url + "/compose")
    page.get_by_label("To", exact=True).fill(rcpt)
    subject = f"reminder {uuid.uuid4().hex[:8]}"
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Message", exact=True).fill("Die Liste ist im Anhang.")
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", answer)
    page.get_by_role("button", name="Send").click()
    page.wait_for_timeout(300)
    assert len(asked) == 1 and "nothing is attached" in asked[0]
    assert page.get_by_role("heading", name="New message").is_visible()  # still writing
    page.get_by_role("button", name="Send").click()  # asked once: this one sends
    page.get_by_text("Message sent to").wait_for()
    assert len(asked) == 1
    wait_for_subject(mail_stack, rcpt, subject)


def test_reader_is_asked_for_a_receipt_and_high_priority_is_marked(page, live_url, mail_stack,
                                                                  stack_db, domain):
    sender = new_address(stack_db, domain, "bmdnsend")
    reader = new_address(stack_db, domain, "bmdnread")
    subject = f"please confirm {uuid.uuid4().hex[:8]}"
    msg = message(sender, reader, subject, "Please confirm you have read this.")
    msg["Disposition-Notification-To"] = sender
    msg["X-Priority"] = "1 (Highest)"
    smtp.send(smtp.SmtpSettings.submission(mail_stack), msg, login=(sender, PASSWORD))
    wait_for_subject(mail_stack, reader, subject)

    sign_in(page, live_url, reader)
    row = page.get_by_role("listitem").filter(has_text=subject)
    assert row.get_by_role("img", name="High priority").is_visible()
    row.get_by_role("link").click()
    bar = page.get_by_role("region", name="Read receipt")
    bar.wait_for()
    assert sender in bar.inner_text()
    bar.get_by_role("button", name="Send receipt").click()
    page.get_by_text(f"Read receipt sent to {sender}").wait_for()
    assert page.get_by_role("region", name="Read receipt").count() == 0
    mdn = parse(wait_for_subject(mail_stack, sender, f"Read: {subject}"))
    assert mdn.get_content_type() == "multipart/report"
    client = imap_login(mail_stack, reader)
    try:
        client.select_folder("INBOX", readonly=True)
        uid = client.search(["SUBJECT", subject])[0]
        assert b"$MDNSent" in client.get_flags([uid])[uid]
    finally:
        client.logout()
