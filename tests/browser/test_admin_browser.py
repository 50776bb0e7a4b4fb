"""An admin works the admin pages in Chromium; the members see the result in their webmail."""
import pytest

from tests.helpers import new_address, new_server_admin, sign_in, wait_for_subject
from tests.integration.admin_support import maildir, send_inbound, unique, wait_until

pytestmark = pytest.mark.browser


def admin_section(page, name):
    page.get_by_role("navigation", name="Administration").get_by_role("link", name=name).click()


def test_shared_mailbox_and_alias_made_in_the_browser_reach_the_members_webmail(
        page, browser, live_url, mail_stack, stack_db, domain):
    member = new_address(stack_db, domain, "member")
    sign_in(page, live_url, new_server_admin(stack_db, domain, "boss"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()

    admin_section(page, "Groups")
    group = unique("desk")
    page.get_by_label("New group").fill(group)
    page.get_by_role("button", name="Create group").click()
    page.get_by_label("Mailbox to add").fill(member)
    page.get_by_role("button", name="Add member").click()
    page.get_by_role("button", name=f"Remove {member} from {group}").wait_for()

    admin_section(page, "Shared mailboxes")
    page.get_by_role("link", name="New shared mailbox").click()
    box = f"{unique('frontdesk')}@{domain}"
    page.get_by_label("Address").fill(box)
    page.get_by_label("Name", exact=True).fill("Front desk")
    page.get_by_label(group).check()
    page.get_by_role("button", name="Create shared mailbox").click()
    page.get_by_role("link", name=box).wait_for()

    admin_section(page, "Aliases")
    page.get_by_role("link", name="New alias").click()
    alias = f"{unique('hello')}@{domain}"
    page.get_by_label("Alias address").fill(alias)
    page.get_by_label("Shared mailboxes", exact=True).fill(box)
    page.get_by_role("button", name="Create alias").click()
    page.get_by_text(f"Created {alias}.").wait_for()

    subject = unique("for the desk")
    send_inbound(mail_stack, alias, subject)
    wait_for_subject(mail_stack, member, subject, folder=f"shared/{box}")

    other = browser.new_context().new_page()
    sign_in(other, live_url, member)
    folders = other.get_by_role("navigation", name="Folders")
    folders.get_by_role("heading", name="Shared").wait_for()
    folders.get_by_role("link", name=box).click()
    other.get_by_text(subject).first.wait_for()
    other.context.close()


def test_dashboard_on_a_phone_sorts_by_keyboard_and_erases_only_after_confirmation(
        page, live_url, mail_stack, stack_db, domain):
    victim = new_address(stack_db, domain, "leaver")
    subject = unique("last words")
    send_inbound(mail_stack, victim, subject)
    wait_for_subject(mail_stack, victim, subject)
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, live_url, new_server_admin(stack_db, domain, "boss"))
    page.goto(live_url + "/admin/")
    page.get_by_role("heading", name="Mail storage by mailbox").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_role("searchbox", name="Search").fill(victim)  # the table is paged
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name="Used", exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**sort=used**")
    assert f"q={victim}" in page.url  # the sort keeps the search
    assert page.get_by_role("meter", name=f"{victim} uses").count() == 1

    page.goto(live_url + f"/admin/mailboxes/{victim}")
    page.get_by_role("link", name="Delete this mailbox…").click()
    page.get_by_label("Erase the mail too (asks again)").check()
    page.get_by_role("button", name="Delete mailbox", exact=True).click()
    page.get_by_role("heading", name=f"Erase all mail of {victim}?").wait_for()
    assert maildir(mail_stack, victim).is_dir()
    page.get_by_label("Type the address to confirm").fill(victim)
    page.get_by_role("button", name="Delete mailbox and erase its mail").click()
    page.get_by_text(f"Deleted {victim}.").wait_for()
    assert wait_until(lambda: not maildir(mail_stack, victim).exists(), 30)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
