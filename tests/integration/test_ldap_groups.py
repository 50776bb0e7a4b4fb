"""Groups from the directory (issue 19): the seeded `spamtrainers` decides who trains
Rspamd, read from a real slapd by the worker (ada: staff; grace: staff and spamtrainers)."""
from __future__ import annotations

import imaplib
import random

from core.services.spam import learning
from stack import directory_groups
from stack.layout import Layout
from tests.conftest import free_ports
from tests.integration.ldap_support import DOMAIN, ldap_stack, seed_password  # noqa: F401
from tests.integration.process_support import served_app, signed_in_opener
from tests.integration.spam_support import SPAM_WORDS, append, generated, move_all, outcomes, wait_until

ADA, GRACE = f"ada@{DOMAIN}", f"grace@{DOMAIN}"


def test_the_worker_writes_each_directory_users_groups(ldap_stack):
    found = directory_groups.read(directory_groups.groups_file(Layout.from_config(ldap_stack)))
    assert found[ADA] == ["staff"]
    assert found[GRACE] == ["spamtrainers", "staff"]


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


def test_settings_tell_each_directory_user_whether_they_train(ldap_stack):
    # A served app of its own: create_app in this process would repoint the suite's
    # database at the directory stack's for the tests after this one.
    port = free_ports(1)[0]
    pages = {}
    with served_app(ldap_stack, port):
        base = f"http://127.0.0.1:{port}"
        for user in (ADA, GRACE):
            opener = signed_in_opener(base, user, seed_password(ldap_stack))
            pages[user] = opener.open(base + "/settings/spam").read().decode()
    assert "only move the messages" in pages[ADA]
    assert "only move the messages" not in pages[GRACE]
