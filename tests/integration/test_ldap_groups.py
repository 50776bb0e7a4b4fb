"""Groups from the directory (issue 19), read from a real slapd by the worker (ada: staff;
grace: staff and spamtrainers): the seeded `spamtrainers` decides who trains Rspamd, and
a directory group owns a shared mailbox through Dovecot's acl_groups."""
from __future__ import annotations

import imaplib
import json
import random
import re
import subprocess
from urllib.parse import urlencode

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from ldap3 import MODIFY_ADD, MODIFY_DELETE

from core.config import LOCAL_LDAP_SUFFIX
from core.db import Database
from core.services.access.roles import Roles
from core.services.directory import shared
from core.services.spam import learning
from stack import directory_groups
from stack.layout import Layout
from tests.conftest import free_ports
from tests.integration.ldap_support import (DOMAIN, admin, ldap_stack,  # noqa: F401
                                            new_local_mailbox, seed_password)
from tests.integration.process_support import ROOT, app_environment, served_app, signed_in_opener
from tests.integration.spam_support import SPAM_WORDS, append, generated, move_all, outcomes, wait_until

ADA, GRACE, DESK = f"ada@{DOMAIN}", f"grace@{DOMAIN}", f"desk@{DOMAIN}"


def test_the_worker_writes_each_directory_users_groups(ldap_stack):
    path = directory_groups.groups_file(Layout.from_config(ldap_stack))
    found = directory_groups.read(path)
    assert found[ADA] == ["staff"]
    assert found[GRACE] == ["spamtrainers", "staff"]
    # As Dovecot's passwd-file userdb takes it (only `userdb_*` extra fields count).
    assert f"{ADA}:::::::userdb_acl_groups=ldap:staff\n" in path.read_text()


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


def test_a_directory_group_owns_a_shared_mailbox_with_membership_read_live(ldap_stack):
    """ada in the directory group deskteam reads and writes desk@ over IMAP, grace does
    not; after the group changes in LDAP (grace in, ada out) the next login of each says
    so, within the worker's refresh (2 s in this stack), and so do their subscriptions."""
    group_dn = f"cn=deskteam,ou=groups,{LOCAL_LDAP_SUFFIX}"
    with admin(ldap_stack) as conn:
        assert conn.add(group_dn, ["groupOfNames"], {"cn": "deskteam", "member": [person_dn("ada")]}), \
            conn.result
    database = Database()
    database.configure(ldap_stack["DATABASE_URL"])
    try:
        with database.transaction() as session:
            shared.create_shared(session, "test", Roles(server=True), DESK, "Desk", [], ["deskteam"],
                                 ldap_stack)
        with database.transaction() as session:
            shared.after_create(ldap_stack, shared.get_shared(session, DESK))
    finally:
        database.engine.dispose()
    password = seed_password(ldap_stack)
    wait_until(lambda: uses_desk(ldap_stack, ADA, password), "ada to open the shared mailbox", 30)
    assert not sees_desk(ldap_stack, GRACE, password)
    # The worker subscribes members, so the webmail lists it among their folders at once.
    wait_until(lambda: subscribed(ldap_stack, ADA, password), "ada's subscription to desk@", 30)

    with admin(ldap_stack) as conn:
        assert conn.modify(group_dn, {"member": [(MODIFY_ADD, [person_dn("grace")]),
                                                 (MODIFY_DELETE, [person_dn("ada")])]}), conn.result
    wait_until(lambda: sees_desk(ldap_stack, GRACE, password), "grace to see the shared mailbox", 30)
    assert uses_desk(ldap_stack, GRACE, password)  # and read what ada wrote, and write
    assert not sees_desk(ldap_stack, ADA, password)
    wait_until(lambda: subscribed(ldap_stack, GRACE, password) and not subscribed(ldap_stack, ADA, password),
               "grace's subscription to desk@ and the end of ada's", 30)


def person_dn(uid: str) -> str:
    return f"uid={uid},ou=people,{LOCAL_LDAP_SUFFIX}"


def imap(cfg: dict, user: str, password: str) -> IMAPClient:
    client = IMAPClient(cfg["IMAP_HOST"], int(cfg["IMAP_PORT"]), ssl=False, timeout=30)
    client.login(user, password)
    return client


def sees_desk(cfg: dict, user: str, password: str) -> bool:
    """Whether USER's folder list has the shared mailbox desk@, or they may open it."""
    client = imap(cfg, user, password)
    try:
        listed = any(name == f"shared/{DESK}" for _, _, name in client.list_folders("shared/*"))
        try:
            client.select_folder(f"shared/{DESK}", readonly=True)
            return True
        except IMAPClientError:
            return listed
    finally:
        client.logout()


def subscribed(cfg: dict, user: str, password: str) -> bool:
    """Whether desk@'s INBOX is among USER's subscribed folders."""
    client = imap(cfg, user, password)
    try:
        return f"shared/{DESK}" in {name for _, _, name in client.list_sub_folders()}
    finally:
        client.logout()


def uses_desk(cfg: dict, user: str, password: str) -> bool:
    """Whether USER may write a message into desk@ and read back every message in it."""
    client = imap(cfg, user, password)
    folder = f"shared/{DESK}"
    try:
        client.append(folder, f"From: {user}\r\nTo: {DESK}\r\nSubject: note from {user}\r\n\r\nhi\r\n".encode())
        client.select_folder(folder)
        subjects = [m[b"BODY[HEADER.FIELDS (SUBJECT)]"] for m in
                    client.fetch(client.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]).values()]
        return any(f"note from {user}".encode() in s for s in subjects)
    except IMAPClientError:
        return False
    finally:
        client.logout()


def test_the_shared_mailbox_form_offers_the_directorys_groups(ldap_stack):
    """A server admin picks the directory's spamtrainers as the owner on the form; Dovecot's
    ACL then names it ldap:spamtrainers (never Mailroom's group of that name)."""
    port, boss, team = free_ports(1)[0], new_local_mailbox(ldap_stack, "admin"), f"team@{DOMAIN}"
    with served_app(ldap_stack, port):
        base = f"http://127.0.0.1:{port}"
        opener = signed_in_opener(base, boss)
        form = opener.open(base + "/admin/shared/new").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        listed = opener.open(base + "/admin/shared/new", urlencode(
            {"csrf_token": token, "address": team, "directory_owners": "spamtrainers"}).encode()).read().decode()
    for name in ("staff", "spamtrainers"):
        assert f'name="directory_owners" value="{name}"' in form
    assert f"Created {team}. Members of spamtrainers (directory)" in listed
    assert "group=ldap:spamtrainers" in acl_of(ldap_stack, team) and "group=spamtrainers" not in acl_of(ldap_stack, team)
    # The CLI's --directory-owner replaces the directory owners; the ACL follows.
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "app", "shared", "set", team,
                           "--directory-owner", "staff", "--json"], cwd=ROOT, env=app_environment(ldap_stack, 0),
                          capture_output=True, text=True, timeout=60, check=False)
    assert json.loads(done.stdout)["directory_owners"] == ["staff"], done.stderr
    acl = acl_of(ldap_stack, team)
    assert "group=ldap:staff" in acl and "spamtrainers" not in acl


def acl_of(cfg: dict, address: str) -> str:
    """`doveadm acl get` of ADDRESS's INBOX."""
    conf = Layout.from_config(cfg).dovecot_conf
    return subprocess.run(["doveadm", "-c", str(conf), "acl", "get", "-u", address, "INBOX"],
                          capture_output=True, text=True, timeout=30, check=True).stdout
