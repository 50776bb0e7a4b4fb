"""Storage: the quota from GETQUOTAROOT with figures and a warning, folder sizes by STATUS SIZE."""
import re

import pytest

from core.services.directory import lookup
from tests.helpers import imap_login, new_address, signed_in_client
from tests.integration.portal_support import create_folders, signed_in_person

PAGE = "/settings/storage"


def append(cfg, address, folder, kib):
    """APPEND a message of about KIB kibibytes to FOLDER."""
    body = ("x" * 76 + "\r\n") * (kib * 1024 // 78)
    raw = f"From: a@b.test\r\nSubject: filler\r\n\r\n{body}".encode()
    client = imap_login(cfg, address)
    try:
        client.append(folder, raw)
    finally:
        client.logout()


@pytest.fixture
def person(app, stack_db, domain):
    return signed_in_person(app, stack_db, domain, "storage")


def test_folders_are_listed_by_size_with_figures(mail_stack, person):
    address, client = person
    create_folders(mail_stack, address, "Photos")
    append(mail_stack, address, "Photos", 300)
    append(mail_stack, address, "INBOX", 20)
    page = client.get(PAGE).get_data(as_text=True)
    rows = re.findall(r'<th scope="row">([^<]+)</th>\s*<td class="num">(\d+)</td>\s*<td class="num">([^<]+)</td>', page)
    assert rows[0][0] == "Photos" and rows[0][1] == "1" and rows[0][2].startswith("300")
    assert ("Inbox", "1") == rows[1][:2]
    assert "<meter" in page and "quota-warn" not in page


def test_quota_above_ninety_percent_turns_the_bar_to_a_warning(app, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "full")
    with stack_db.transaction() as session:
        lookup.get_mailbox(session, address).quota_mb = 1  # read by the userdb at login
    append(mail_stack, address, "INBOX", 950)
    client = signed_in_client(app, address)
    page = client.get(PAGE).get_data(as_text=True)
    assert "quota-warn" in page and "You are above 90 %" in page
    assert re.search(r"9\d\d(\.\d)? KB of 1\.0 MB \(9\d %\)", page)
