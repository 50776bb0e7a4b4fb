"""A server admin sets Admin → Server → Attachments in Chromium; Rspamd then refuses by content."""
import pytest

from core.models.server import server_settings
from tests.helpers import new_address, new_server_admin, sign_in
from tests.integration.server_support import defaults, reset  # noqa: F401  (defaults: fixture)
from tests.integration.test_attachment_blocking import ELF, docx, letter, refusal, send, subject

pytestmark = pytest.mark.browser


def stored(mail_stack, stack_db):
    with stack_db.transaction() as session:
        return server_settings(session, int(mail_stack["MESSAGE_SIZE_LIMIT_MB"])).values()


# The refused form (an unknown type) comes back with status 400, which Chromium logs.
@pytest.mark.console_expected("Failed to load resource: the server responded with a status of 400 (BAD REQUEST)")
@pytest.mark.parametrize("width", [375, 1280])
def test_attachments_page_refuses_unknown_types_then_blocks_executables(
        page, live_url, mail_stack, stack_db, domain, width):
    rcpt = new_address(stack_db, domain, "pagerule")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_url, new_server_admin(stack_db, domain, "attach"))
    page.goto(live_url + "/admin/server")
    page.get_by_role("navigation", name="Server").get_by_role("link", name="Attachments").click()
    page.get_by_role("heading", name="Attachments", exact=True).wait_for()
    assert page.get_by_text("are zip archives too").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.get_by_label("Also refuse these file types").fill("pdf, exe2")
    page.get_by_role("button", name="Save attachments").click()
    assert page.get_by_text("“exe2” is not a type the detector names").is_visible()
    assert stored(mail_stack, stack_db)["block_types"] == []

    page.get_by_label("Also refuse these file types").fill("pdf")
    page.get_by_label("Refuse executables").check()
    page.get_by_role("button", name="Save attachments").click()
    page.get_by_text("Rspamd reloaded").wait_for()
    assert page.get_by_label("Refuse executables").is_checked()
    assert page.get_by_label("Refuse archives").is_checked() is False
    values = stored(mail_stack, stack_db)
    assert values["block_executables"] and values["block_types"] == ["pdf"]

    text = refusal(mail_stack, [rcpt], letter([rcpt], subject("page ELF"), ELF, "report.txt", "text/plain"))
    assert "executable" in text
    send(mail_stack, [rcpt], letter([rcpt], subject("page docx"), docx(), "minutes.docx"))
