"""A server admin turns antivirus off and on in Chromium, on a phone and on a desktop;
the next message obeys each choice."""
import smtplib

import pytest

from tests.helpers import new_address, new_server_admin, sign_in, wait_for_subject
from tests.integration.antivirus_support import EICAR, set_antivirus, unique, with_attachment
from tests.integration.spam_support import smtp_in

pytestmark = pytest.mark.browser
SENDER = "someone@outside.example"


@pytest.fixture(autouse=True)
def antivirus_on_again(mail_stack, stack_db):
    yield
    set_antivirus(mail_stack, stack_db, True)


@pytest.mark.parametrize("width", [375, 1280])
def test_the_antivirus_switch_on_the_server_page(page, live_url, mail_stack, stack_db, domain, width):
    page.set_viewport_size({"width": width, "height": 800})
    rcpt = new_address(stack_db, domain, "avbrowser")
    sign_in(page, live_url, new_server_admin(stack_db, domain, "avboss"))
    page.goto(f"{live_url}/admin/server")
    switch = page.get_by_label("Scan every message for viruses (ClamAV)")
    assert switch.is_checked()

    switch.uncheck()
    page.get_by_role("button", name="Save antivirus").click()
    page.get_by_text("Postfix and Rspamd reloaded").wait_for()
    assert not page.get_by_label("Scan every message for viruses (ClamAV)").is_checked()
    unscanned = unique("Unscanned")
    smtp_in(mail_stack, SENDER, rcpt, with_attachment(SENDER, rcpt, unscanned, EICAR))
    wait_for_subject(mail_stack, rcpt, unscanned)

    page.get_by_label("Scan every message for viruses (ClamAV)").check()
    page.get_by_role("button", name="Save antivirus").click()
    page.get_by_text("Postfix and Rspamd reloaded").wait_for()
    assert page.get_by_label("Scan every message for viruses (ClamAV)").is_checked()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        smtp_in(mail_stack, SENDER, rcpt, with_attachment(SENDER, rcpt, unique("Scanned"), EICAR))
    assert refused.value.smtp_code == 554

    page.goto(f"{live_url}/admin/")
    assert page.get_by_text("The virus scanner is down").count() == 0
