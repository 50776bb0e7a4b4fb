"""The webmail's folder tree costs one IMAP round trip where the server has LIST-STATUS
(RFC 5819), and shows awkward names, hierarchy, subscriptions, special uses, shared
folders and counts exactly as the LIST + LSUB + one STATUS per folder way does."""
from __future__ import annotations

import uuid

import pytest

from core.services.access.roles import Roles
from core.services.directory import groups, shared
from core.services.mail.mailbox import folder_tree
from tests.helpers import commands_sent, imap_login, message, new_address

# A command line as imaplib sends it: TAG [UID] NAME ...
EXTENSIONS = ("LIST-STATUS", "LIST-EXTENDED")
QUOTED = 'Pro jects/Sub "q"'  # spaces and quotes, under a parent that does not exist
ACCENTED = "Été 2026"  # modified UTF-7 on the wire (&AMk-t&AOk- 2026)
NESTED = "Clients/Acme/2026"


@pytest.fixture(scope="module")
def person(mail_stack, stack_db, domain):
    """A mailbox with awkward folders, some messages, a shared mailbox of its group, and a
    folder someone else lets it see but not read."""
    address, peer = new_address(stack_db, domain, "tree"), new_address(stack_db, domain, "peer")
    client = imap_login(mail_stack, peer)
    try:
        client.create_folder("Peek")
        client.append("Peek", message(peer, peer, "hidden").as_bytes())
        client.setacl("Peek", address, "l")  # lookup: listed, but no STATUS
    finally:
        client.logout()
    group, desk = f"tree-{uuid.uuid4().hex[:6]}", f"treedesk-{uuid.uuid4().hex[:6]}@{domain}"
    with stack_db.transaction() as session:
        groups.create_group(session, "test", group)
        groups.add_member(session, "test", groups.get_group(session, group), address)
        shared.create_shared(session, "test", Roles(server=True), desk, "", [group])
    with stack_db.transaction() as session:
        shared.after_create(mail_stack, shared.get_shared(session, desk))
    client = imap_login(mail_stack, address)
    try:
        for name in (QUOTED, ACCENTED, "Clients", "Clients/Acme", NESTED):
            client.create_folder(name)
        for name in (QUOTED, "Clients/Acme"):
            client.subscribe_folder(name)
        raw = message("a@outside.test", address, "tree").as_bytes()
        client.append(ACCENTED, raw, flags=[b"\\Seen"])
        client.append(ACCENTED, raw)
        client.append(QUOTED, raw)
        # Dovecot adds a "shared/treedesk-…@example" parent (\\NonExistent) to the list once
        # the shared mailbox was first listed: settle that before comparing two listings.
        client.list_folders()
    finally:
        client.logout()
    return address, desk, peer


def without(client, monkeypatch, capabilities) -> None:
    """Make CLIENT believe the server lacks CAPABILITIES."""
    has = client.has_capability
    monkeypatch.setattr(client, "has_capability", lambda name: name.upper() not in capabilities and has(name))


@pytest.mark.parametrize("counts", [True, False])
def test_the_tree_is_one_round_trip(mail_stack, person, monkeypatch, counts):
    client = imap_login(mail_stack, person[0])
    try:
        sent = commands_sent(client, monkeypatch)
        tree = folder_tree(client, counts)
        assert sent == ["LIST"]
        assert len(tree) > 10
    finally:
        client.logout()


def test_one_round_trip_shows_what_list_lsub_and_status_show(mail_stack, person, monkeypatch):
    address, desk, peer = person
    client = imap_login(mail_stack, address)
    try:
        fast = folder_tree(client)
        without(client, monkeypatch, EXTENSIONS)
        sent = commands_sent(client, monkeypatch)
        slow = folder_tree(client)
        assert sent[:2] == ["LIST", "LSUB"] and sent.count("STATUS") > 10  # the old way
    finally:
        client.logout()
    assert fast == slow
    seen = {f.name: (f.label, f.depth, f.selectable, f.subscribed, f.messages, f.unseen, f.shared)
            for f in fast}
    assert seen[QUOTED] == ('Sub "q"', 1, True, True, 1, 1, False)
    assert seen["Pro jects"] == ("Pro jects", 0, False, False, 0, 0, False)
    assert seen[ACCENTED] == (ACCENTED, 0, True, False, 2, 1, False)
    assert seen[NESTED] == ("2026", 2, True, False, 0, 0, False)
    assert seen["Clients/Acme"][3] is True
    assert seen[f"shared/{desk}"] == (f"{desk}", 1, True, True, 0, 0, True)
    assert seen[f"shared/{peer}/Peek"] == ("Peek", 2, True, False, 0, 0, True)
    assert {f.special for f in fast if f.depth == 0} >= {"\\Drafts", "\\Sent", "\\Trash", "\\Junk", "\\Archive"}
    assert [f.kind for f in fast[:6]] == ["inbox", "drafts", "sent", "archive", "junk", "trash"]
