"""A person schedules a message for later, finds it in Scheduled and cancels it; sends one and
takes it back with Undo; on a phone and on a desktop, with a clean console."""
from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app import create_app
from tests.faults.support import count
from tests.helpers import new_address, sign_in, wait_for_subject
from tests.integration.scheduled_support import rows_of

pytestmark = pytest.mark.browser
WIDTHS = (375, 1280)
ZONE = "Asia/Tokyo"  # the browser's zone, not the machine's (UTC)


@pytest.fixture(scope="module")
def undo_url(mail_stack):
    """The app with Send's ten seconds of Undo, served by waitress as in production."""
    from waitress import create_server

    app = create_app({**mail_stack, "ENV": "testing", "UNDO_SEND_SECONDS": 10})
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


@pytest.fixture
def tokyo_page(page):
    """The suite's page (console checked), its browser reporting the Asia/Tokyo zone."""
    page.context.new_cdp_session(page).send("Emulation.setTimezoneOverride", {"timezoneId": ZONE})
    return page


def open_scheduled(page, width: int) -> None:
    """Reach Scheduled from the mail page's sidebar (behind the Folders menu on a phone)."""
    if width < 700:
        page.get_by_role("link", name="Folders").click()
    page.get_by_role("navigation", name="Folders").get_by_role("link", name="Scheduled").click()
    page.get_by_role("heading", name="Scheduled").wait_for()


def write(page, url: str, rcpt: str, subject: str) -> None:
    page.goto(url + "/compose")
    page.get_by_label("To", exact=True).fill(rcpt)
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Message", exact=True).fill("Written in the browser.")


@pytest.mark.parametrize("width", WIDTHS)
def test_schedule_with_a_time_see_it_in_scheduled_and_cancel(
        tokyo_page, live_url, mail_stack, stack_db, domain, width):
    page = tokyo_page
    page.set_viewport_size({"width": width, "height": 800})
    sender = new_address(stack_db, domain, "bsched")
    rcpt = new_address(stack_db, domain, "brcpt")
    sign_in(page, live_url, sender)
    subject = f"later {uuid.uuid4().hex}"
    write(page, live_url, rcpt, subject)
    page.get_by_text("Send later").click()
    assert page.get_by_text(f"Your time zone: {ZONE}").is_visible()
    day = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=30)).replace(hour=9, minute=30,
                                                                       second=0, microsecond=0)
    page.get_by_label("Send at").fill(day.strftime("%Y-%m-%dT%H:%M"))
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_role("button", name="Schedule").click()

    page.get_by_role("heading", name="Scheduled").wait_for()
    row = page.get_by_role("row").filter(has_text=subject)
    assert f"on {day:%a} {day.day} {day:%b %Y} at 09:30 (Asia/Tokyo)" in row.inner_text()
    [stored] = rows_of(stack_db, sender)
    utc = day.astimezone(timezone.utc)  # 00:30 UTC: Tokyo is 9 hours ahead
    assert stored.send_at.strftime("%Y-%m-%d %H:%M") == utc.strftime("%Y-%m-%d 00:30")
    page.goto(live_url + "/mail")
    if width < 700:
        page.get_by_role("link", name="Folders").click()
    assert page.get_by_role("navigation", name="Folders").get_by_label("1 waiting").is_visible()
    if width < 700:
        page.get_by_role("navigation", name="Folders").get_by_role("link", name="Scheduled").click()
        page.get_by_role("heading", name="Scheduled").wait_for()
    else:
        open_scheduled(page, width)

    page.get_by_role("button", name=f"Cancel {subject}").click()
    page.get_by_text("it is in Drafts").wait_for()
    assert rows_of(stack_db, sender) == []
    assert page.get_by_text("Nothing is scheduled").is_visible()
    assert count(mail_stack, sender, "Drafts", subject) == 1
    assert count(mail_stack, rcpt, "INBOX", subject) == 0


@pytest.mark.parametrize("width", WIDTHS)
def test_send_then_undo_reopens_the_message_and_nothing_arrives(
        tokyo_page, undo_url, mail_stack, stack_db, domain, width):
    page = tokyo_page
    page.set_viewport_size({"width": width, "height": 800})
    sender = new_address(stack_db, domain, "bundo")
    rcpt = new_address(stack_db, domain, "bundone")
    sign_in(page, undo_url, sender)
    subject = f"undo {uuid.uuid4().hex}"
    write(page, undo_url, rcpt, subject)
    page.get_by_role("button", name="Send", exact=True).click()

    page.get_by_text(f"Sending to {rcpt}").wait_for()
    page.get_by_role("button", name="Undo").click()
    page.get_by_role("heading", name="Draft").wait_for()
    assert page.get_by_label("Subject").input_value() == subject
    assert page.get_by_label("To", exact=True).input_value().startswith(rcpt)
    assert rows_of(stack_db, sender) == []
    page.wait_for_timeout(12000)  # past the ten seconds: the worker has nothing to send
    assert count(mail_stack, rcpt, "INBOX", subject) == 0
    assert count(mail_stack, sender, "Sent", subject) == 0


def test_without_undo_the_bar_goes_and_the_message_arrives(
        tokyo_page, undo_url, mail_stack, stack_db, domain):
    page = tokyo_page
    sender = new_address(stack_db, domain, "bgo")
    rcpt = new_address(stack_db, domain, "bgone")
    sign_in(page, undo_url, sender)
    subject = f"go {uuid.uuid4().hex}"
    write(page, undo_url, rcpt, subject)
    began = datetime.now()
    page.get_by_role("button", name="Send", exact=True).click()
    page.get_by_role("button", name="Undo").wait_for()
    page.get_by_role("button", name="Undo").wait_for(state="detached", timeout=15000)
    assert datetime.now() - began >= timedelta(seconds=8)
    wait_for_subject(mail_stack, rcpt, subject, timeout=20)
    assert wait_for_subject(mail_stack, sender, subject, folder="Sent", timeout=10)
