"""Groups from the directory (issue 19): the seeded `staff` owns a shared mailbox through
Dovecot's acl_groups, and the seeded `spamtrainers` decides who trains Rspamd, both read
from a real slapd (ada: staff; grace: staff and spamtrainers)."""
from __future__ import annotations

import imaplib
import random

import pytest
from imapclient.exceptions import IMAPClientError

from core.db import Database
from core.models import Group
from core.services.access import roles
from core.services.directory import shared
from core.services.spam import learning
from stack import directory_groups
from stack.layout import Layout
from tests.helpers import imap_login
from tests.integration.admin_support import send_inbound
from tests.integration.ldap_support import DOMAIN, add_person, ldap_stack, seed_password  # noqa: F401
from tests.integration.spam_support import SPAM_WORDS, append, generated, move_all, outcomes, wait_until

ADA, GRACE = f"ada@{DOMAIN}", f"grace@{DOMAIN}"


@pytest.fixture(scope="module")
def database(ldap_stack):
    db = Database()
    db.configure(ldap_stack["DATABASE_URL"])
    yield db
    db.engine.dispose()


def test_the_worker_writes_each_directory_users_groups(ldap_stack):
    found = directory_groups.read(directory_groups.groups_file(Layout.from_config(ldap_stack)))
    assert found[ADA] == ["staff"]
    assert found[GRACE] == ["spamtrainers", "staff"]


def test_a_directory_group_owns_a_shared_mailbox(ldap_stack, database):
    desk = f"desk@{DOMAIN}"
    with database.transaction() as session:  # the Mailroom group `staff` stands for the directory's
        owner = Group(name="staff")
        session.add(owner)
        session.flush()
        box = shared.create_shared(session, "test", roles.Roles(server=True), desk, "Desk", ["staff"])
    shared.after_create(ldap_stack, box)
    send_inbound(ldap_stack, desk, "for the desk")
    password = seed_password(ldap_stack)
    add_person(ldap_stack, "outsider", password)  # in no group
    client = imap_login(ldap_stack, ADA, password)
    try:
        client.select_folder(f"shared/{desk}", readonly=True)
        wait_until(lambda: client.noop() and client.search(["SUBJECT", "for the desk"]), "the desk's mail")
    finally:
        client.logout()
    outsider = imap_login(ldap_stack, f"outsider@{DOMAIN}", password)
    try:
        with pytest.raises(IMAPClientError):
            outsider.select_folder(f"shared/{desk}", readonly=True)
    finally:
        outsider.logout()


def test_only_the_directorys_spamtrainers_train(ldap_stack):
    rng, password = random.Random(19), seed_password(ldap_stack)
    for user in (ADA, GRACE):
        plain = imaplib.IMAP4(ldap_stack["IMAP_HOST"], int(ldap_stack["IMAP_PORT"]))
        plain.login(user, password)
        try:
            append(plain, "INBOX", generated(SPAM_WORDS, user, rng))
            move_all(plain, "INBOX", "Junk")
        finally:
            plain.logout()
        wait_until(lambda: outcomes(ldap_stack, user), f"the worker to handle {user}'s move")
    assert outcomes(ldap_stack, ADA) == [learning.SKIPPED]  # staff only
    assert outcomes(ldap_stack, GRACE) == ["learned"]
