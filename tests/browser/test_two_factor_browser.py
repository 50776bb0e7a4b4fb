"""A person sets up two-factor sign-in on a phone-sized screen, signs in again with a
code from the app (generated here with pyotp) on a desktop one, and makes an app password
that a mail program then signs in with, while the password alone is refused there."""
import time

import pyotp
import pytest

from core.services.access import twofactor
from tests.helpers import PASSWORD, new_address, new_domain_admin, sign_in
from tests.integration.test_dovecot_settings import imap_login_ok
from tests.integration.test_two_factor_web import next_code

pytestmark = pytest.mark.browser
MAIL_PROGRAM = "127.0.0.75"


def test_enrol_then_sign_in_with_a_code_and_make_an_app_password(page, live_url, mail_stack,
                                                                 stack_db, domain):
    address = new_address(stack_db, domain, "tfabrowser")
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, live_url, address)
    page.goto(live_url + "/settings")
    page.get_by_role("navigation", name="Settings sections").get_by_role(
        "link", name="Two-factor sign-in").click()
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    qr_code = page.get_by_role("img", name="QR code of the two-factor key for your authenticator app")
    assert qr_code.evaluate("img => img.complete && img.naturalWidth > 0")
    secret = page.get_by_label("Key to type").inner_text().strip()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("heading", name="Recovery codes").wait_for()
    assert page.get_by_role("list", name="Recovery codes").get_by_role("listitem").count() == 10
    with stack_db.transaction() as session:
        assert twofactor.is_on(session, address)
    assert not imap_login_ok(mail_stack, MAIL_PROGRAM, address, starttls=True)

    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("E-mail address").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Sign-in code").wait_for()
    page.get_by_label("Code").fill(next_code(secret))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Inbox").wait_for()

    page.goto(live_url + "/settings/security")
    page.get_by_label("Name of the program or device").fill("Phone")
    page.get_by_role("button", name="Create app password").click()
    app_password = page.get_by_label("New app password").inner_text().strip()
    assert imap_login_ok(mail_stack, MAIL_PROGRAM, address, starttls=True, password=app_password)
    page.get_by_role("link", name="Two-factor sign-in").click()
    page.get_by_role("button", name="Revoke Phone").click()
    page.get_by_text("is revoked").wait_for()
    assert not imap_login_ok(mail_stack, MAIL_PROGRAM, address, starttls=True, password=app_password)


def test_a_domain_admin_requires_it_on_a_phone_and_a_person_is_sent_to_set_it_up(
        browser, page, live_url, stack_db, domain):
    from core.services.directory import lookup

    name = f"tfab{int(time.time() * 1000) % 10**8}.test"
    with stack_db.transaction() as session:
        lookup.add_domain(session, name)
    person = new_address(stack_db, name, "member")
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, live_url, new_domain_admin(stack_db, domain, of=name))
    page.goto(live_url + f"/admin/domains/{name}")
    page.get_by_label("Require two-factor sign-in").check()
    page.get_by_role("button", name="Save two-factor sign-in").click()
    page.get_by_text("without two-factor sign-in are sent to set it up").wait_for()
    assert page.get_by_label("Require two-factor sign-in").is_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    other = browser.new_context(viewport={"width": 375, "height": 740})
    errors: list[str] = []  # the page fixture watches its own context only
    other.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    other.on("weberror", lambda err: errors.append(err.error.message))
    try:
        phone = other.new_page()
        phone.goto(live_url + "/login")
        phone.get_by_label("E-mail address").fill(person)
        phone.get_by_label("Password").fill(PASSWORD)
        phone.get_by_role("button", name="Sign in").click()
        phone.get_by_role("heading", name="Two-factor sign-in").wait_for()
        assert phone.get_by_text("Your organisation requires it.").is_visible()
        phone.goto(live_url + "/mail")
        assert phone.url.endswith("/settings/security")
    finally:
        other.close()
    assert errors == []
