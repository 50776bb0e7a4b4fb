"""A person finds how to set up a mail app, and takes the iPhone profile home."""
import plistlib

import pytest

from tests.helpers import new_address, sign_in

pytestmark = pytest.mark.browser


def test_set_up_a_mail_app_shows_the_servers_and_gives_the_profile(page, live_url, mail_stack,
                                                                   stack_db, domain, tmp_path):
    address = new_address(stack_db, domain, "mailapp")
    sign_in(page, live_url, address)
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings sections").get_by_role(
        "link", name="Set up a mail app").click()
    page.get_by_role("heading", name="Set up a mail app").wait_for()

    servers = page.get_by_role("table")
    host = mail_stack["MAIL_HOSTNAME"]
    for protocol, key, security in (("IMAP (incoming)", "IMAP_PORT", "STARTTLS"),
                                    ("POP3 (incoming)", "POP3_PORT", "STARTTLS"),
                                    ("SMTP (outgoing)", "SUBMISSION_PORT", "STARTTLS"),
                                    ("ManageSieve (filters)", "SIEVE_PORT", "STARTTLS"),
                                    ("IMAP (incoming)", "IMAPS_PORT", "SSL/TLS")):
        row = servers.get_by_role("row").filter(has_text=str(mail_stack[key]))
        assert row.get_by_role("cell").all_inner_texts() == [str(mail_stack[key]), security]
        assert row.get_by_role("rowheader").inner_text() == protocol
    sign_in_facts = page.get_by_role("region", name="Server and sign-in")
    assert sign_in_facts.get_by_role("definition").all_inner_texts()[:2] == [host, address]
    qr_code = page.get_by_role("img", name="QR code of the address of your iPhone profile")
    assert qr_code.evaluate("img => img.complete && img.naturalWidth > 0")

    with page.expect_download() as saved:
        page.get_by_role("link", name="Download the iPhone profile").click()
    download = saved.value
    assert download.suggested_filename == f"{address}.mobileconfig"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    (account,) = plistlib.loads(path.read_bytes())["PayloadContent"]
    assert (account["EmailAddress"], account["IncomingMailServerHostName"]) == (address, host)
