"""A folder replaced by another client while a pooled connection has it selected (issue 17 item 3).

Dovecot answers the next command on such a connection with "Mailbox was deleted under
us"; the webmail must select the new folder and answer normally, never 422.
"""
import uuid

import pytest

from tests.helpers import imap_login, message, new_address, signed_in_client


@pytest.fixture
def person(stack_db, domain):
    return new_address(stack_db, domain, "replaced", spam_to_junk=False)


def _fill(client, folder: str, subject: str) -> None:
    client.append(folder, message("ann@outside.test", "x@example.test", subject).as_bytes())


def _replace(mail_stack, person: str, folder: str, subject: str) -> None:
    """Delete FOLDER and create it again with one message, from a second IMAP client."""
    other = imap_login(mail_stack, person)
    try:
        other.delete_folder(folder)
        other.create_folder(folder)
        _fill(other, folder, subject)
    finally:
        other.logout()


@pytest.mark.parametrize("then", ["list", "read", "poll"])
def test_a_folder_deleted_and_created_again_under_a_pooled_connection(
        mail_stack, app, person, then):
    folder, old, new = "Projects", f"old {uuid.uuid4().hex[:6]}", f"new {uuid.uuid4().hex[:6]}"
    setup = imap_login(mail_stack, person)
    setup.create_folder(folder)
    _fill(setup, folder, old)
    setup.logout()
    web = signed_in_client(app, person)
    listed = web.get(f"/mail?folder={folder}")
    assert listed.status_code == 200 and old in listed.get_data(as_text=True)

    _replace(mail_stack, person, folder, new)

    if then == "list":
        page = web.get(f"/mail?folder={folder}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200, html
        assert new in html and old not in html
    elif then == "read":
        page = web.get(f"/mail/1?folder={folder}")  # the new folder's first UID is 1 again
        assert page.status_code == 200, page.get_data(as_text=True)
        assert new in page.get_data(as_text=True)
    else:
        polled = web.get(f"/mail/changes?folder={folder}&uidnext=2")
        assert polled.status_code == 200, polled.get_data(as_text=True)


def test_uidvalidity_changed_while_selected_lists_the_new_messages(mail_stack, app, person):
    """Same name, new folder, new UIDs: the cached sort order of the old one is not reused."""
    folder = "Archive2"
    setup = imap_login(mail_stack, person)
    setup.create_folder(folder)
    for n in range(3):
        _fill(setup, folder, f"first-generation {n}")
    setup.logout()
    web = signed_in_client(app, person)
    assert web.get(f"/mail?folder={folder}").status_code == 200
    _replace(mail_stack, person, folder, "second-generation 0")
    html = web.get(f"/mail?folder={folder}").get_data(as_text=True)
    assert "second-generation 0" in html and "first-generation" not in html
    assert 'data-count="messages">1<' in html
