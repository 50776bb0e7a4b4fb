"""Message tracking in Chromium: a server admin finds a message's path; a person opens
Delivery details on a message in Sent."""
from email.utils import make_msgid

import pytest

from core.mail import smtp
from tests.helpers import PASSWORD, message, new_address, new_server_admin, sign_in
from tests.integration.admin_support import unique, wait_until
from tests.integration.test_tracking import cli, sent_copy

pytestmark = pytest.mark.browser


def sent_and_delivered(app, cfg, sender: str, to: str) -> tuple[str, bytes]:
    """Send a message from SENDER to TO over submission; its subject and bytes once delivered."""
    subject = unique("browser-track")
    mail = message(sender, to, subject)
    mail["Message-ID"] = make_msgid(domain=sender.partition("@")[2])
    smtp.send(smtp.SmtpSettings.submission(cfg), mail, login=(sender, PASSWORD))
    assert wait_until(lambda: [m["status"] for m in cli(app, "track", to, "--json")[1]] == ["delivered"],
                      30, 0.5)
    return subject, mail.as_bytes()


def test_admin_searches_the_log_and_reads_the_timeline(page, app, live_url, mail_stack, stack_db, domain):
    sender, to = new_address(stack_db, domain, "bsend"), new_address(stack_db, domain, "bto")
    sent_and_delivered(app, mail_stack, sender, to)
    sign_in(page, live_url, new_server_admin(stack_db, domain))
    page.goto(f"{live_url}/admin/")
    page.get_by_role("link", name="Server", exact=True).click()
    page.get_by_role("navigation", name="Server").get_by_role("link", name="Message tracking").click()
    page.get_by_label("Queue id, Message-ID, sender or recipient").fill(to)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("heading", name="1 message").wait_for()
    path = page.get_by_role("list", name="Path of")
    for stage in ("received", "cleanup", "rspamd", "queued", "delivered", "removed"):
        assert path.get_by_text(stage, exact=True).count() >= 1, stage
    assert path.get_by_text(f"signed in as {sender}").is_visible()


def test_person_opens_delivery_details_of_a_sent_message(page, app, live_url, mail_stack, stack_db, domain):
    sender, to = new_address(stack_db, domain, "bann"), new_address(stack_db, domain, "bbob")
    subject, raw = sent_and_delivered(app, mail_stack, sender, to)
    sent_copy(mail_stack, sender, raw)
    sign_in(page, live_url, sender)
    page.get_by_role("navigation", name="Folders").get_by_role("link", name="Sent").click()
    page.get_by_role("link", name=subject).first.click()
    page.get_by_role("link", name="Delivery details").click()
    page.get_by_role("heading", name="Delivery details").wait_for()
    assert page.get_by_role("cell", name=to).is_visible()
    assert page.get_by_role("list", name="Path of").get_by_text("delivered", exact=True).count() == 1
