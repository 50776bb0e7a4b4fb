"""The dry-run tester: Pigeonhole's sieve-test with the stack's configuration and userdb."""
import re

import pytest

from core.services.personal import forwarding
from tests.helpers import new_address, wait_for_subject
from tests.integration.portal_support import (
    create_folders, ensure_domain, managesieve, post, rule_form, send, signed_in_person, subjects,
    unique,
)

TESTER = "/settings/filters/test"


@pytest.fixture
def person(app, stack_db, domain, mail_stack):
    address, client = signed_in_person(app, stack_db, domain, "tester")
    create_folders(mail_stack, address, "Bills", "News")
    for data in (rule_form("Bills", [("subject", "contains", "invoice")], [("read",), ("move", "Bills"), ("stop",)]),
                 rule_form("News", [("header", "contains", "example", "List-Id")], [("move", "News")]),
                 rule_form("Never", [("subject", "contains", "zzz")], [("delete",)], enabled=False)):
        assert post(client, "/settings/filters/new", data).status_code == 302
    return address, client


def outcomes(page: str) -> dict[str, str]:
    rows = re.findall(r'<tr class="outcome-[^"]+"><th scope="row">([^<]+)</th><td>([^<:]+)', page)
    return {name: state.strip() for name, state in rows}


def test_pasted_message_shows_matching_rules_and_actions(person):
    _, client = person
    message = "From: shop@outside.test\nSubject: Your invoice 12\nList-Id: <x.example.org>\n\nPay now."
    response = post(client, TESTER, {"message": message, "uid": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[-1500:]
    assert outcomes(page) == {"Bills": "Matched", "News": "Not reached", "Never": "Off"}
    assert "Store message in folder: Bills (add IMAP flags: \\seen)" in page
    assert re.search(r'<textarea[^>]*name="message"[^>]*>From: shop@outside.test\nSubject', page)


def test_message_picked_from_a_folder_and_nothing_is_done(mail_stack, person):
    address, client = person
    subject = unique("pick")
    send(mail_stack, address, subject, headers={"List-Id": "<list.example.net>"})
    wait_for_subject(mail_stack, address, subject, "News")
    picker = client.get(f"{TESTER}?folder=News").get_data(as_text=True)
    uid = re.search(rf'<option value="(\d+)"[^>]*>{subject}', picker).group(1)
    page = post(client, f"{TESTER}?folder=News", {"folder": "News", "uid": uid, "message": ""}).get_data(as_text=True)
    assert outcomes(page) == {"Bills": "No match", "News": "Matched", "Never": "Off"}
    assert subjects(mail_stack, address, "News") == [subject]  # the test moved nothing
    assert subjects(mail_stack, address, "Bills") == []


def test_server_rules_run_first_with_the_persons_userdb_settings(mail_stack, stack_db, person):
    address, client = person
    target = new_address(stack_db, ensure_domain(stack_db), "fwd")
    with stack_db.transaction() as session:
        forwarding.set_forwarding(session, address, target, keep_copy=False)
    try:
        page = post(client, TESTER, {"message": "From: a@b.test\nSubject: invoice\n\nx"}).get_data(as_text=True)
        assert f"Forwarding (Forwarding settings):</strong> redirect message to: &lt;{target}&gt;" in page
        assert outcomes(page)["Bills"] == "Not reached"  # no copy kept: the rules never run
    finally:
        with stack_db.transaction() as session:
            forwarding.set_forwarding(session, address, None, True)
    page = post(client, TESTER, {"message": "From: a@b.test\nX-Spam: Yes\nSubject: invoice\n\nx"}).get_data(as_text=True)
    assert "Spam to Junk (Spam &amp; Junk settings):</strong> store message in folder: Junk" in page


def test_another_script_can_be_tested_and_an_empty_message_is_explained(mail_stack, person):
    address, client = person
    with managesieve(mail_stack, address) as store:
        store.put("draft", "keep;\n")
    empty = post(client, TESTER, {"message": "  ", "script": "mailroom"})
    assert empty.status_code == 422 and "Paste a message" in empty.get_data(as_text=True)
    page = post(client, TESTER, {"message": "Subject: hi\n\nx", "script": "draft"}).get_data(as_text=True)
    assert "Result for “draft”" in page and "Keep it in the Inbox" in page
