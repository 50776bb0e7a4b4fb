"""A server admin turns DKIM signing on in Chromium and copies the DNS record with its button."""
import uuid

import pytest

from core.services.directory import dkim, lookup
from tests.helpers import new_server_admin, sign_in

pytestmark = pytest.mark.browser


def test_sign_then_copy_the_dns_record(page, live_url, mail_stack, stack_db, domain):
    # The clipboard as a person's browser grants it when asked.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)
    name = f"browser-dkim-{uuid.uuid4().hex[:6]}.test"
    with stack_db.transaction() as session:
        lookup.add_domain(session, name)
    sign_in(page, live_url, new_server_admin(stack_db, domain))
    page.goto(f"{live_url}/admin/domains/{name}")
    assert page.get_by_role("button", name="Copy value").count() == 0  # no key yet

    page.get_by_label("Sign outbound messages with DKIM").check()
    page.get_by_role("button", name="Save DKIM setting").click()
    page.get_by_text(f"Mail sent from {name} is signed with DKIM").wait_for()
    assert page.get_by_label("Sign outbound messages with DKIM").is_checked()

    page.get_by_role("button", name="Copy value").click()
    page.get_by_role("status").filter(has_text="Copied to the clipboard.").wait_for()
    with stack_db.transaction() as session:
        record = dkim.status(mail_stack, lookup.get_domain(session, name))
    assert page.evaluate("navigator.clipboard.readText()") == record.txt
    page.get_by_role("button", name="Copy name").click()
    page.wait_for_function("wanted => navigator.clipboard.readText().then(t => t === wanted)",
                           arg=f"default._domainkey.{name}")
