"""A server admin opens a person's mailbox in the webmail through the master user, on a
phone and on a desktop: the banner names whose mailbox it is on every page, Compose
and Reply are not there, and "Return to admin" brings the admin's own session back."""
import pytest

from core.services.server import master_user, settings
from tests.helpers import new_address, new_server_admin, sign_in, wait_for_subject
from tests.integration.admin_support import send_inbound, unique

pytestmark = pytest.mark.browser
MASTER = "a master passphrase for the browser"


@pytest.fixture
def master_on(mail_stack, stack_db):
    with stack_db.factory() as session:
        master_user.set_password(session, MASTER, "tests")
        settings.update(session, mail_stack, {"master_user": "on"}, "tests")
    yield
    with stack_db.factory() as session:
        settings.update(session, mail_stack, {"master_user": "off"}, "tests")


@pytest.mark.parametrize("width", [375, 1280])
def test_an_admin_reads_a_mailbox_with_a_banner_and_returns(page, live_url, mail_stack, stack_db,
                                                            domain, master_on, width):
    page.set_viewport_size({"width": width, "height": 800})
    person = new_address(stack_db, domain, "readme", spam_to_junk=False)
    subject = unique("only for the reader")
    send_inbound(mail_stack, person, subject)
    wait_for_subject(mail_stack, person, subject)
    admin = new_server_admin(stack_db, domain, "reader")
    sign_in(page, live_url, admin)

    page.goto(f"{live_url}/admin/mailboxes/{person}")
    page.get_by_label("Master password").fill(MASTER)
    page.get_by_role("button", name="Open mailbox").click()
    banner = page.get_by_role("region", name="Reading another mailbox")
    banner.get_by_text(f"You are reading {person}'s mailbox").wait_for()
    page.get_by_text(subject).first.click()
    page.get_by_role("heading", name=subject).wait_for()
    banner.wait_for()  # on the message page too
    assert page.get_by_role("link", name="Reply").count() == 0
    assert page.get_by_role("link", name="Compose").count() == 0
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").count() == 0

    banner.get_by_role("button", name="Return to admin").click()
    page.get_by_role("heading", name=person).wait_for()
    assert page.get_by_role("region", name="Reading another mailbox").count() == 0
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Mail").click()
    page.get_by_role("link", name="Compose").first.wait_for()  # the admin's own mailbox again
