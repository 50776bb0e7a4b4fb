"""A server admin finds a deferred message on the queue page in Chromium and deletes it;
Postfix's queue no longer holds it."""
import pytest

from tests.helpers import new_server_admin, sign_in
from tests.integration.admin_support import unique
from tests.integration.queue_support import deferred_message, forget, relay_down_domain
from tests.integration.server_support import queued

pytestmark = pytest.mark.browser


def test_filter_read_headers_and_delete_a_deferred_message(page, live_url, mail_stack, stack_db, domain):
    far = relay_down_domain(stack_db)
    rcpt, subject = f"bob@{far}", unique("browser-queue")
    try:
        queue_id = deferred_message(mail_stack, rcpt, subject)["queue_id"]
        sign_in(page, live_url, new_server_admin(stack_db, domain))
        page.goto(f"{live_url}/admin/")
        page.get_by_role("link", name="deferred messages").click()
        page.get_by_role("heading", name="Mail queue").wait_for()

        page.get_by_label("Recipient contains").fill(rcpt)
        page.get_by_role("button", name="Filter").click()
        row = page.get_by_role("row").filter(has_text=queue_id)
        assert "deferred" in row.inner_text() and "Connection refused" in row.inner_text()

        page.get_by_role("link", name=f"Headers of {queue_id}").click()
        page.get_by_text(f"Subject: {subject}").wait_for()
        page.go_back()

        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name=f"Delete {queue_id}").click()
        page.get_by_role("status").filter(has_text=f"Deleted message {queue_id}").wait_for()
        assert queued(mail_stack, rcpt) is None
        assert page.get_by_role("row").filter(has_text=queue_id).count() == 0
        assert page.get_by_label("Recipient contains").input_value() == rcpt  # the filter stays
    finally:
        forget(mail_stack, far)
