"""People reading mail in Chromium: keyboard, phone width, remote content, bulk actions, new mail."""
import uuid
from email.message import EmailMessage

import pytest

from tests.helpers import (deliver_raw, imap_login, new_address, png, sign_in, submit,
                           wait_for_subject)

pytestmark = pytest.mark.browser


def fill(cfg, address, count):
    subjects = [f"kb {n} {uuid.uuid4().hex[:6]}" for n in range(count)]
    for subject in subjects:
        submit(cfg, address, address, subject)
    for subject in subjects:
        wait_for_subject(cfg, address, subject)
    return subjects


def test_keyboard_moves_opens_and_deletes(page, live_url, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "keys")
    fill(mail_stack, address, 3)
    sign_in(page, live_url, address)
    page.keyboard.press("j")
    page.keyboard.press("j")
    row = page.locator("#message-list .row").nth(1)
    second, uid = row.locator(".subject").inner_text().split("\n")[-1], row.get_attribute("data-uid")
    assert page.evaluate("document.activeElement.closest('.row').dataset.uid") == uid
    page.keyboard.press("o")
    page.wait_for_url(f"**/mail/{uid}?**")
    page.get_by_role("heading", name=second, exact=True).wait_for()
    page.keyboard.press("?")
    assert page.get_by_role("dialog", name="Keyboard shortcuts").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("#")
    page.get_by_role("status").get_by_text("1 message moved to Trash.").wait_for()
    wait_for_subject(mail_stack, address, second, "Trash", timeout=5)


def test_select_all_and_mark_read(page, live_url, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "bulk")
    fill(mail_stack, address, 2)
    sign_in(page, live_url, address)
    page.get_by_label("Select all on this page").check()
    page.get_by_role("toolbar", name="Selected messages").get_by_role("button", name="Read", exact=True).click()
    page.get_by_text("2 messages marked as read.").wait_for()
    client = imap_login(mail_stack, address)
    assert client.folder_status("INBOX", [b"UNSEEN"])[b"UNSEEN"] == 0
    client.logout()


def test_new_mail_appears_without_reloading(page, live_url, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "poll")
    sign_in(page, live_url, address)
    subject = f"arrives later {uuid.uuid4().hex[:6]}"
    submit(mail_stack, address, address, subject)
    wait_for_subject(mail_stack, address, subject)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.get_by_role("link", name=subject).wait_for()
    assert page.locator('[data-count="unseen"]').inner_text() == "1"


def test_remote_images_blocked_until_shown_once(page, live_url, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "remote", spam_to_junk=False)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Shop <shop@news.test>", address, "Deals inside"
    msg.add_alternative('<p>Deals</p><img src="http://images.news.test/banner.png" alt="banner">',
                        subtype="html")
    deliver_raw(mail_stack, address, msg.as_bytes())
    wait_for_subject(mail_stack, address, "Deals inside")
    requested = []
    page.on("request", lambda r: requested.append(r.url) if "banner" in r.url else None)
    page.route("http://images.news.test/**",  # the sender's image server, played by the test
               lambda route: route.fulfill(body=png(120, 40), content_type="image/png"))
    sign_in(page, live_url, address)
    page.get_by_role("link", name="Deals inside").click()
    region = page.get_by_role("region", name="Remote content")
    region.wait_for()
    assert "1 image" in region.inner_text()
    assert page.frame_locator("iframe[title='Message body']").get_by_text("Deals").is_visible()
    assert not requested
    region.get_by_role("link", name="Show once").click()
    page.frame_locator("iframe[title='Message body']").get_by_text("Deals").wait_for()
    page.wait_for_timeout(300)
    assert requested, "the remote image is loaded once the reader asks"


def test_phone_shows_one_pane_with_back_navigation(page, live_url, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "phone")
    subjects = fill(mail_stack, address, 1)
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, live_url, address)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_role("link", name=subjects[0]).click()
    page.get_by_role("heading", name=subjects[0]).wait_for()
    assert not page.get_by_role("list", name="Messages").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_role("link", name="Back to the list").click()
    page.get_by_role("list", name="Messages").wait_for()
    page.get_by_role("link", name="Folders").click()
    assert page.get_by_role("navigation", name="Folders").is_visible()
