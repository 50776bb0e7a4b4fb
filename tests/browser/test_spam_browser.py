"""The spam filter pages in Chromium: readiness bars, a threshold change that Rspamd
obeys, an address rule, and Rspamd's own interface opening without a password prompt."""
from __future__ import annotations

import pytest

from core.mail import rspamd
from stack import spam as stack_spam
from stack.layout import Layout
from tests.helpers import new_server_admin, sign_in
from tests.integration.spam_support import restore_filter_defaults

pytestmark = pytest.mark.browser


@pytest.fixture
def server_admin(stack_db, domain, mail_stack):
    """A server admin; the filter's defaults are put back afterwards."""
    yield new_server_admin(stack_db, domain, "browseradmin")
    restore_filter_defaults(mail_stack, stack_db)


def test_readiness_bars_threshold_rule_and_rspamds_interface(page, live_url, mail_stack, server_admin):
    server = rspamd.RspamdSettings.from_config(mail_stack)
    spam_count, ham_count = rspamd.bayes_counts(server)
    sign_in(page, live_url, server_admin)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(live_url + "/settings/spam")
    bar = page.get_by_role("progressbar", name="Spam learned")
    assert bar.get_attribute("max") == "200" and bar.get_attribute("value") == str(min(spam_count, 200))
    ham_bar = page.get_by_role("progressbar", name="Ham (good mail) learned")
    assert ham_bar.get_attribute("value") == str(min(ham_count, 200))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto(live_url + "/admin/")
    page.get_by_role("navigation", name="Administration").get_by_role("link", name="Spam filter").click()
    page.get_by_role("heading", name="Spam filter", level=1).wait_for()
    page.get_by_label("Mark as spam at score").fill("7.5")
    page.get_by_label("Subject prefix for spam (optional)").fill("[SPAM]")
    page.get_by_role("button", name="Save thresholds").click()
    page.get_by_text("Saved. Rspamd uses the new thresholds for the next message.").wait_for()
    assert rspamd.actions(server)["rewrite subject"] == 7.5

    page.get_by_label("Add to list").select_option(label="Block From")
    page.get_by_label("Address or domain").fill("Spammer.Example")
    page.get_by_role("button", name="Add rule").click()
    page.get_by_text("Added spammer.example to Block From. It applies to the next message.").wait_for()
    maps = stack_spam.maps_dir(Layout.from_config(mail_stack))
    assert (maps / "block_from_domain.map").read_text() == "spammer.example\n"
    page.get_by_role("button", name="Remove spammer.example from Block From").click()
    page.get_by_text("Removed spammer.example from Block From.").wait_for()
    assert (maps / "block_from_domain.map").read_text() == ""

    page.get_by_role("link", name="Open Rspamd's own web interface").click()
    page.wait_for_url("**/admin/rspamd/")  # with no CSP violation: the page fixture checks
    page.locator("#statWidgets").wait_for(state="visible")  # shown once /stat answered
    assert not page.locator("#connectDialog").is_visible()


@pytest.mark.console_expected(  # the refusals of the probes below, which this test is about
    "Connecting to '{origin}/admin/' violates the following Content Security Policy directive: "
    "\"connect-src {origin}/admin/rspamd/\". The action has been blocked.",
    "Fetch API cannot load {origin}/admin/. Refused to connect because it violates the "
    "document's Content Security Policy.",
    "Blocked opening '{origin}/admin/' in a new window because the request was made in a "
    "sandboxed frame whose 'allow-popups' permission is not set.",
    "Framing '{origin}/admin/' violates the following Content Security Policy directive: "
    "\"frame-src 'none'\". The request has been blocked.")
def test_a_script_in_rspamds_interface_cannot_reach_the_rest_of_mailroom(page, live_url, server_admin):
    # Issue 12: the interface is served from Mailroom's origin; a script that slipped into it
    # (Rspamd's history shows text from mail) must not read or drive the admin pages.
    sign_in(page, live_url, server_admin)
    page.goto(live_url + "/admin/rspamd/")
    page.locator("#statWidgets").wait_for(state="visible")  # the figures still come
    assert page.locator("#statWidgets").inner_text().strip()
    reach = page.evaluate("""async () => {
        const fetched = await fetch('/admin/').then(r => r.status, () => 'blocked');
        const data = await fetch('stat', {headers: {'X-Requested-With': 'XMLHttpRequest'}})
            .then(r => r.status, () => 'blocked');
        let popup;
        try { popup = window.open('/admin/') ? 'opened' : 'blocked'; } catch (e) { popup = 'blocked'; }
        const frame = document.createElement('iframe');
        frame.src = '/admin/';
        document.body.appendChild(frame);
        await new Promise(done => setTimeout(done, 1000));
        let framed;
        try { framed = frame.contentDocument && frame.contentDocument.body
                       && frame.contentDocument.body.innerText.includes('Admin') ? 'read' : 'blocked'; }
        catch (e) { framed = 'blocked'; }
        return {fetched, data, popup, framed};
    }""")
    assert reach == {"fetched": "blocked", "data": 200, "popup": "blocked", "framed": "blocked"}
