"""On a phone-sized screen, a person adds a message's sender to Contacts, puts them in a
group and is offered that contact, and the group whole, when writing a new message; the
card is in the CardDAV book a phone syncs."""
import re
import uuid

import pytest

from tests.helpers import PASSWORD, deliver_raw, new_address, sign_in, uid_of
from tests.integration.contacts_support import Dav

pytestmark = pytest.mark.browser
PHONE_SOURCE = "127.0.0.83"


def test_add_the_sender_to_contacts_then_compose_suggests_it_at_375px(page, live_url, mail_stack,
                                                                       stack_db, domain):
    address = new_address(stack_db, domain, "bcontacts", spam_to_junk=False)
    subject = f"Lunch on Friday {uuid.uuid4().hex[:8]}"
    deliver_raw(mail_stack, address, (
        f"From: Giulia Bianchi <giulia@partner.example>\r\nTo: {address}\r\nSubject: {subject}\r\n"
        "Message-ID: <lunch-" + uuid.uuid4().hex + "@partner.example>\r\n\r\n"
        "Shall we meet at the usual place at one?\r\n").encode(), sender="giulia@partner.example")
    uid = uid_of(mail_stack, address, subject)
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, live_url, address)

    page.goto(f"{live_url}/mail/{uid}?folder=INBOX")
    page.get_by_role("heading", name=subject).wait_for()
    page.get_by_role("button", name="Add to contacts").click()
    page.get_by_role("heading", name="Giulia Bianchi").wait_for(timeout=30000)
    page.get_by_role("status").filter(has_text="giulia@partner.example was added to your contacts.").wait_for()
    assert page.get_by_label("E-mail addresses").input_value() == "giulia@partner.example"

    # The card is in the person's CardDAV book, where a phone finds it.
    status, cards = Dav(mail_stack, address, PASSWORD, PHONE_SOURCE).report()
    assert status == 207 and "FN:Giulia Bianchi" in cards and "giulia@partner.example" in cards

    page.get_by_label("Groups").fill("Lunch club")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Giulia Bianchi was saved.").wait_for(timeout=30000)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    page.get_by_role("heading", name="Contacts").wait_for()
    page.get_by_role("link", name="Giulia Bianchi").wait_for()
    page.get_by_role("navigation", name="Groups").get_by_role("link", name=re.compile("Lunch club")).click()
    page.get_by_role("heading", name="Group Lunch club").wait_for(timeout=30000)
    page.get_by_role("button", name="Rename group").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the phone

    page.goto(f"{live_url}/compose")
    page.get_by_role("heading", name="New message").wait_for()
    page.wait_for_function("() => document.activeElement.id === 'c-to'")
    page.keyboard.type("giul")
    page.get_by_role("option", name=re.compile("giulia@partner.example")).wait_for(timeout=30000)
    page.keyboard.press("Enter")
    to = page.get_by_label("To", exact=True)
    assert "giulia@partner.example" in to.input_value()
    # A group is offered whole: choosing it puts in its members' addresses.
    to.fill("")
    page.keyboard.type("lunch")
    page.get_by_role("option", name=re.compile(r"Lunch club \(1\)")).click(timeout=30000)
    assert to.input_value() == "Giulia Bianchi <giulia@partner.example>, "
