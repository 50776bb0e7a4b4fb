"""Groups from the directory (issue 19): the seeded `spamtrainers` decides who trains
Rspamd, read from a real slapd by the worker (ada: staff; grace: staff and spamtrainers)."""
from __future__ import annotations

import imaplib
import random


from core.services.spam import learning
from stack import directory_groups
from stack.layout import Layout
from tests.integration.ldap_support import DOMAIN, ldap_stack, seed_password  # noqa: F401
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
    from app import create_app
    from tests.helpers import post_login

    app = create_app({**ldap_stack, "ENV": "testing"})
    pages = {}
    for user in (ADA, GRACE):
        client = app.test_client()
        assert post_login(client, user, seed_password(ldap_stack)).status_code == 302
        pages[user] = client.get("/settings/spam").get_data(as_text=True)
    assert "only move the messages" in pages[ADA]
    assert "only move the messages" not in pages[GRACE]
