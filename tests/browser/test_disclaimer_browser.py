"""An admin writes a disclaimer in Chromium, watches the live preview, saves, and mail
written in the webmail afterwards arrives with it."""
import email
import uuid
from email import policy

import pytest

from core.mail.disclaimer import MARKER
from core.services.directory import lookup
from tests.helpers import new_address, new_domain_admin, sign_in, wait_for_subject

pytestmark = pytest.mark.browser


@pytest.fixture
def domain_admin(stack_db) -> tuple[str, str]:
    """A fresh domain and the mailbox that administers it: (domain, address)."""
    name = f"browser-{uuid.uuid4().hex[:6]}.test"
    with stack_db.transaction() as session:
        lookup.add_domain(session, name)
    return name, new_domain_admin(stack_db, name, name, "boss")


def test_edit_with_live_preview_save_then_webmail_mail_carries_it(page, live_url, mail_stack,
                                                                  stack_db, domain, domain_admin):
    name, admin = domain_admin
    rcpt = new_address(stack_db, domain, "dreader")
    sign_in(page, live_url, admin)
    page.goto(live_url + "/admin/disclaimers")
    page.get_by_role("link", name=f"Edit the disclaimer of {name}").click()
    page.get_by_role("heading", name=f"Disclaimer of {name}").wait_for()

    ref = uuid.uuid4().hex[:8]
    page.get_by_label("Disclaimer text (Markdown)").focus()
    page.keyboard.type(f"**Confidential** ref {ref}\n\n<script>alert(1)</script>- first point")
    preview = page.get_by_role("region", name="Preview")
    preview.locator("strong", has_text="Confidential").wait_for()  # rendered as the admin types
    preview.get_by_text("first point").wait_for()
    assert "script" not in preview.inner_html() and "alert" not in preview.inner_html()

    page.get_by_label(f"Add this disclaimer to mail sent from {name}").check()
    page.get_by_role("button", name="Save disclaimer").click()
    page.get_by_text("Saved. The disclaimer is added to the next message").wait_for()
    assert page.get_by_label("Disclaimer text (Markdown)").input_value().startswith("**Confidential**")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Mail").click()
    page.get_by_role("navigation", name="Folders").get_by_role("link", name="Compose").click()
    page.get_by_role("heading", name="New message").wait_for()
    page.get_by_label("To", exact=True).fill(rcpt)
    subject = f"browser disclaimer {uuid.uuid4().hex}"
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Message", exact=True).fill("Written in the webmail.")
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Message sent to").wait_for()

    arrived = email.message_from_bytes(wait_for_subject(mail_stack, rcpt, subject),
                                       policy=policy.default)
    original, added = arrived.iter_parts()
    assert "Written in the webmail." in original.get_body(("plain",)).get_content()
    assert added[MARKER] == name
    assert f"<strong>Confidential</strong> ref {ref}" in added.get_body(("html",)).get_content()
    assert "alert" not in added.get_body(("html",)).get_content()


def test_editor_fits_a_phone_and_works_by_keyboard(page, live_url, domain_admin):
    name, admin = domain_admin
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, live_url, admin)
    page.goto(live_url + f"/admin/disclaimers/{name}")
    page.get_by_label("Disclaimer text (Markdown)").focus()
    page.keyboard.type("*Typed by keyboard*")
    page.get_by_role("region", name="Preview").locator("em", has_text="Typed by keyboard").wait_for()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Save disclaimer"
    page.keyboard.press("Enter")
    page.get_by_text("Saved. The disclaimer is no longer added").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"page is {width}px wide on a 375px screen"
