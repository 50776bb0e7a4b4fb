"""A person signs in with Chromium, sees the INBOX count and the quota bar, and signs out."""
import uuid

import pytest
from playwright.sync_api import expect

from tests.helpers import PASSWORD, new_address, submit, wait_for_subject

pytestmark = pytest.mark.browser


def test_sign_in_see_inbox_and_quota_then_sign_out(page, live_url, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "browser")
    for n in range(2):
        subject = f"browser {n} {uuid.uuid4().hex}"
        submit(mail_stack, address, address, subject)
        wait_for_subject(mail_stack, address, subject)

    page.goto(live_url + "/")
    assert "/login" in page.url
    page.get_by_label("E-mail address").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("heading", name="Inbox").wait_for()
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Mail").is_visible()
    assert page.locator('[data-count="messages"]').inner_text() == "2"
    assert page.locator('[data-count="unseen"]').inner_text() == "2"
    meter = page.get_by_role("meter", name="Storage")
    assert float(meter.get_attribute("value")) > 0
    assert float(meter.get_attribute("max")) == 1024 * 1024  # the stack's 1 GiB default, in KiB

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    page.goto(live_url + "/")
    assert "/login" in page.url


def test_phone_width_keeps_everything_reachable(page, live_url, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "phone")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(live_url + "/login")
    page.get_by_label("E-mail address").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Inbox").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"page is {width}px wide on a 375px screen"
    assert page.get_by_role("button", name="Sign out").is_visible()


@pytest.mark.parametrize("width", [375, 1280])
def test_the_button_says_the_sign_in_is_under_way_while_the_server_answers(
        page, live_url, stack_db, domain, width):
    # A busy mail server may take seconds to answer LOGIN: the button says so meanwhile.
    address = new_address(stack_db, domain, "patient")
    page.set_viewport_size({"width": width, "height": 800})
    page.set_extra_http_headers({"Accept-Language": "de-DE,de;q=0.9"})
    page.goto(live_url + "/login")
    page.get_by_label("E-Mail-Adresse").fill(address)
    page.get_by_label("Passwort").fill(PASSWORD)
    # The page as it is while the answer is awaited: Playwright reads nothing while a
    # navigation is under way, so this first submit stays in the page.
    form = page.locator("form", has=page.get_by_label("Passwort"))
    form.evaluate("f => f.addEventListener('submit', event => event.preventDefault(), {once: true})")
    page.get_by_role("button", name="Anmelden").click()

    busy = page.get_by_role("button", name="Anmeldung läuft …")
    expect(busy).to_be_disabled()
    assert busy.bounding_box()["x"] + busy.bounding_box()["width"] <= width
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    # Brought back from the back-forward cache (Playwright's Chromium runs without one,
    # so the event the browser sends then), the button is usable again.
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    expect(page.get_by_role("button", name="Anmelden", exact=True)).to_be_enabled()
    form.evaluate("f => f.submit()")  # now sent, as the browser would have
    page.get_by_role("heading", name="Posteingang").wait_for()
