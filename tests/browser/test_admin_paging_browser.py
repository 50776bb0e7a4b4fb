"""A server admin pages through a large mailbox list in Chromium, on a phone and on a
desktop: the domain filter is a text field past 200 domains, Next keeps the filter."""
import pytest

from tests.helpers import new_server_admin, sign_in
from tests.integration.test_admin_paging import MAILBOXES, big  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [375, 1280])
def test_admin_filters_by_typing_a_domain_and_pages_on(page, live_url, stack_db, domain, big, width):
    name, _ = big
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, live_url, new_server_admin(stack_db, domain, "pager"))
    page.goto(f"{live_url}/admin/mailboxes")
    page.get_by_role("searchbox", name="Domain").fill(name)
    page.get_by_role("button", name="Show").click()
    page.get_by_text(f"{MAILBOXES} mailboxes, page 1 of 3").wait_for()
    assert page.get_by_role("link", name=f"u049@{name}").is_visible()
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next").click()
    page.get_by_text(f"{MAILBOXES} mailboxes, page 2 of 3").wait_for()
    assert page.get_by_role("link", name=f"u050@{name}").is_visible()
    assert page.get_by_role("searchbox", name="Domain").input_value() == name
