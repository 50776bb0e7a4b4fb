"""The admin's Directory pages against a real slapd (issue 19): users and groups shown
read-only and scoped to the admin's domains, Mailroom's own settings kept by stable id
and obeyed by Dovecot, orphaned mail folders kept as archive or erased, and a new
person given a removed person's address starting afresh."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis
from ldap3 import MODIFY_DELETE, MODIFY_REPLACE
from sqlalchemy import select

from core import shared
from core.config import LOCAL_LDAP_SUFFIX, ldap_bind_password
from core.db import Database
from core.ldapdir.people import read_tree
from core.mail.sieve_rules import read
from core.models import AuditEntry, DirectoryPerson, DirectorySettings
from core.services.access import api_tokens
from core.services.directory import archives, disclaimers, lookup
from stack.worker import directory_people
from stack.layout import Layout
from tests.conftest import free_ports
from tests.helpers import (PASSWORD, csrf_token, imap_login, new_address, new_domain_admin, new_server_admin,
                           submit, wait_for_subject)
from tests.integration.admin_support import send_inbound, wait_until
from tests.integration.ldap_support import (DOMAIN, admin, doveadm_quota_kb, entry_uuid, ldap_stack,  # noqa: F401
                                            seed_password)
from tests.integration.portal_support import managesieve, userdb
from tests.integration.process_support import served_app, signed_in_opener
from tests.integration.secrets_support import world_readable_secrets

OTHER = "other-dir.test"  # a second domain with one directory user
ADA, GRACE, LINUS = (f"{name}@{DOMAIN}" for name in ("ada", "grace", "linus"))


@pytest.fixture(scope="module")
def database(ldap_stack):
    found = Database()
    found.configure(ldap_stack["DATABASE_URL"])
    yield found
    found.engine.dispose()


@pytest.fixture(scope="module")
def site(ldap_stack, database):
    """The app served on the directory stack: (base URL, server admin's opener)."""
    with database.transaction() as session:
        lookup.add_domain(session, OTHER)
    server_admin = new_server_admin(database, DOMAIN)
    port = free_ports(1)[0]
    with served_app(ldap_stack, port):
        base = f"http://127.0.0.1:{port}"
        yield base, signed_in_opener(base, server_admin)


def add_person(cfg: dict, address: str, password: str = "dir-Pass-123456") -> str:
    """A new directory person with ADDRESS; their DN."""
    uid = address.partition("@")[0]
    dn = f"uid={uid},ou=people,{LOCAL_LDAP_SUFFIX}"
    with admin(cfg) as conn:
        assert conn.add(dn, ["inetOrgPerson"], {"uid": uid, "cn": f"Person {uid}", "sn": uid, "mail": address,
                                                "userPassword": password}), conn.result
    return dn


def remove(cfg: dict, dn: str) -> None:
    with admin(cfg) as conn:
        assert conn.delete(dn), conn.result


def page(opener, url: str) -> str:
    return opener.open(url).read().decode()


def post(opener, url: str, fields: dict, form_page: str = "") -> str:
    """POST FIELDS to URL with the CSRF token of the form on FORM_PAGE (default: URL)."""
    token = csrf_token(page(opener, form_page or url))
    return opener.open(url, urllib.parse.urlencode({**fields, "csrf_token": token}).encode()).read().decode()


def status_of(opener, url: str) -> int:
    try:
        return opener.open(url).status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_directory_pages_show_users_and_groups_scoped_to_the_admins_domains(ldap_stack, database, site):
    base, server = site
    outsider = f"out{uuid.uuid4().hex[:6]}@{OTHER}"
    dn = add_person(ldap_stack, outsider)
    with admin(ldap_stack) as conn:  # into `staff` beside ada and grace
        assert conn.modify(f"cn=staff,ou=groups,{LOCAL_LDAP_SUFFIX}", {"member": [("MODIFY_ADD", [dn])]}), conn.result
    other_admin = new_domain_admin(database, DOMAIN, OTHER)
    try:
        listed = page(server, base + "/admin/directory/users")
        assert all(a in listed for a in (ADA, GRACE, LINUS, outsider)) and ">Directory</a>" in listed
        assert f"countess@{DOMAIN}" in listed and "disabled" in listed  # ada's extra address; linus
        filtered = page(server, base + "/admin/directory/users?q=grac")
        assert GRACE in filtered and ADA not in filtered and "spamtrainers, staff" in filtered
        groups = page(server, base + "/admin/directory/groups")
        assert re.search(rf"spamtrainers</td><td>{re.escape(GRACE)}</td>", groups)

        scoped = signed_in_opener(base, other_admin)
        mine = page(scoped, base + "/admin/directory/users")
        assert outsider in mine and ADA not in mine and GRACE not in mine
        their_groups = page(scoped, base + "/admin/directory/groups")
        assert re.search(rf"staff</td><td>{re.escape(outsider)}</td>", their_groups)  # only their member
        assert "spamtrainers" not in their_groups
        ada_id = entry_uuid(ldap_stack, "ada")
        assert status_of(scoped, f"{base}/admin/directory/users/{ada_id}") == 403
        assert status_of(scoped, f"{base}/admin/directory/orphans") == 403
        assert status_of(server, f"{base}/admin/directory/users/no-such-id") == 404
    finally:
        remove(ldap_stack, dn)


def test_settings_saved_on_the_page_are_what_dovecot_applies_by_stable_id(ldap_stack, site):
    base, server = site
    grace_id = entry_uuid(ldap_stack, "grace")
    assert doveadm_quota_kb(ldap_stack, ADA) == str(int(ldap_stack["DEFAULT_QUOTA_MB"]) * 1024)
    url = f"{base}/admin/directory/users/{grace_id}"
    shown = post(server, url, {"quota": "77", "junk_days": "3"})
    assert "Saved grace@" in shown and "changed there, not here" in shown
    assert doveadm_quota_kb(ldap_stack, GRACE) == str(77 * 1024)
    assert userdb(ldap_stack, GRACE)["namespace/inbox/mailbox/Junk/autoexpunge"] == f"{3 * 86400}s"
    renamed = f"grace-renamed@{DOMAIN}"
    grace_dn = f"uid=grace,ou=people,{LOCAL_LDAP_SUFFIX}"
    with admin(ldap_stack) as conn:
        assert conn.modify(grace_dn, {"mail": [("MODIFY_REPLACE", [renamed])]}), conn.result
    try:
        assert doveadm_quota_kb(ldap_stack, renamed) == str(77 * 1024)  # the setting follows the id
    finally:
        with admin(ldap_stack) as conn:
            assert conn.modify(grace_dn, {"mail": [("MODIFY_REPLACE", [GRACE])]}), conn.result
    refused = post_refused(server, url, {"quota": "lots", "junk_days": ""})
    assert "is not a size" in refused


def post_refused(opener, url: str, fields: dict) -> str:
    try:
        post(opener, url, fields)
    except urllib.error.HTTPError as exc:
        assert exc.code == 400
        return exc.read().decode()
    raise AssertionError("the form was accepted")


def worker_saw(database: Database, address: str) -> bool:
    with database.transaction() as session:
        return bool(session.scalar(select(DirectoryPerson.present).where(DirectoryPerson.address == address)))


def test_a_directory_user_made_domain_admin_administers_their_domain(ldap_stack, database, site):
    base, server = site
    ada_id = entry_uuid(ldap_stack, "ada")
    ada = signed_in_opener(base, ADA, seed_password(ldap_stack))
    assert status_of(ada, base + "/admin/") == 403
    # The worker's own record (stack/worker/directory_people.py, after each 30 s read).
    assert wait_until(lambda: worker_saw(database, ADA), timeout=40), "the worker recorded nobody"
    post(server, f"{base}/admin/directory/users/{ada_id}", {"quota": "", "junk_days": "", "domain_admin": "on"})
    assert status_of(ada, base + "/admin/") == 200
    listed = page(ada, base + "/admin/directory/users")
    assert GRACE in listed and "Administers" not in page(ada, f"{base}/admin/directory/users/{ada_id}")
    grace_url = f"{base}/admin/directory/users/{entry_uuid(ldap_stack, 'grace')}"
    post(ada, grace_url, {"quota": "", "junk_days": "", "domain_admin": "on"})  # not hers to give
    assert "Domain admin: no" in page(ada, grace_url)


def record(cfg: dict) -> None:
    """What the worker does after each read of the directory (every 30 s): record who it has."""
    database = Database()
    database.configure(cfg["DATABASE_URL"])
    try:
        directory_people.record(database, Layout.from_config(cfg), read_tree(cfg))
    finally:
        database.engine.dispose()


def orphan_of(cfg: dict, uid: str, subject: str) -> tuple[str, str, Path]:
    """A new person UID who received SUBJECT, then was removed from the directory, as
    the worker then records it: (address, id, their mail folder)."""
    address = f"{uid}@{DOMAIN}"
    dn = add_person(cfg, address)
    directory_id = entry_uuid(cfg, uid)
    send_inbound(cfg, address, subject)
    assert wait_for_subject(cfg, address, subject, password="dir-Pass-123456")
    record(cfg)  # the worker sees them (it reads the directory every 30 s) ...
    remove(cfg, dn)
    record(cfg)  # ... and then no longer
    return address, directory_id, Path(cfg["STACK_DIR"]) / "mail" / "directory" / directory_id


def test_orphaned_mail_is_kept_as_archive_and_a_new_person_with_the_address_starts_empty(ldap_stack, database, site):
    base, server = site
    uid = f"gone{uuid.uuid4().hex[:6]}"
    address, directory_id, folder = orphan_of(ldap_stack, uid, f"orphan-{uid}")
    listed = page(server, base + "/admin/directory/orphans")
    assert address in listed and "Keep as archive" in listed and re.search(r"\d+ (B|KB|MB)<", listed)
    with database.transaction() as session:  # a setting of the removed person's id
        session.add(DirectorySettings(directory_id=directory_id, quota_mb=55, domain_admin=False))
    successor = add_person(ldap_stack, address)  # a new person given the same address
    try:
        client = imap_login(ldap_stack, address, "dir-Pass-123456")
        try:
            assert client.select_folder("INBOX")[b"EXISTS"] == 0  # never the orphan's mail
        finally:
            client.logout()
        assert doveadm_quota_kb(ldap_stack, address) != str(55 * 1024)  # nor their settings
    finally:
        remove(ldap_stack, successor)
    post(server, f"{base}/admin/directory/orphans/{directory_id}/keep", {}, base + "/admin/directory/orphans")
    assert wait_until(lambda: not folder.exists(), timeout=30), "the worker did not archive the folder"
    kept = [a for a in archives.archives(ldap_stack) if a.address == address]
    assert len(kept) == 1, kept
    assert [f for f in kept[0].path.rglob("*") if f.is_file() and f.parent.name in ("new", "cur")]
    with database.transaction() as session:
        assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "archive",
                                                          AuditEntry.target == address))


def test_orphaned_mail_is_erased_after_a_confirmation_page(ldap_stack, database, site):
    base, server = site
    uid = f"erased{uuid.uuid4().hex[:6]}"
    address, directory_id, folder = orphan_of(ldap_stack, uid, f"orphan-{uid}")
    url = f"{base}/admin/directory/orphans/{directory_id}/erase"
    assert "cannot be undone" in page(server, url) and folder.exists()
    post(server, url, {})
    assert wait_until(lambda: not folder.exists(), timeout=30), "the worker did not erase the folder"
    assert not [a for a in archives.archives(ldap_stack) if a.address == address]
    with database.transaction() as session:
        assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "erase",
                                                          AuditEntry.target == address))
    record(ldap_stack)  # the next pass: nothing left to list
    assert address not in page(server, base + "/admin/directory/orphans")


def test_the_dashboards_directory_check_is_kept_30_s_where_every_web_process_sees_it(ldap_stack, site):
    base, server = site
    store = redis.Redis.from_url(shared.store_url(ldap_stack), decode_responses=True,
                                 **shared.store_options(ldap_stack))
    for key in store.scan_iter(shared.PREFIX + "directory-check:*"):
        store.delete(key)
    assert "<dt>Directory users</dt>" in page(server, base + "/admin/")
    kept = list(store.scan_iter(shared.PREFIX + "directory-check:*"))
    assert len(kept) == 1 and 0 < store.ttl(kept[0]) <= 30
    assert json.loads(store.get(kept[0]))["problem"] == ""
    assert ldap_bind_password(ldap_stack) not in kept[0] + store.get(kept[0])


@pytest.mark.parametrize(("settings", "status", "said"), [
    ({"ACCOUNT_PROVIDER": "database"}, 404, ""),
    ({"LDAP_BIND_PASSWORD": "wrong-password-for-the-test"}, 503, "The user directory cannot be read"),
])
def test_without_a_directory_the_pages_are_absent_and_with_a_broken_one_say_so(ldap_stack, database,
                                                                               settings, status, said):
    admin_address = new_server_admin(database, DOMAIN)
    port = free_ports(1)[0]
    with served_app(ldap_stack, port, **settings):
        base = f"http://127.0.0.1:{port}"
        opener = signed_in_opener(base, admin_address, PASSWORD)
        assert (">Directory</a>" in page(opener, base + "/admin/")) == (status != 404)
        try:
            opener.open(base + "/admin/directory/users")
        except urllib.error.HTTPError as exc:
            assert exc.code == status and said in exc.read().decode()
        else:
            raise AssertionError("the page answered")


def test_a_directory_users_forwarding_set_in_the_portal_is_obeyed_and_shown_to_the_admin(ldap_stack, database, site):
    base, server = site
    target = new_address(database, DOMAIN, "fwdtarget", spam_to_junk=False)
    ada = signed_in_opener(base, ADA, seed_password(ldap_stack))
    ada_url = f"{base}/admin/directory/users/{entry_uuid(ldap_stack, 'ada')}"
    # Her Junk page works too: odd test mail may score as spam, and must stay in the INBOX.
    post(ada, base + "/settings/junk", {"mode": "default"})
    assert userdb(ldap_stack, ADA)["sieve_env_mailroom_spam_to_junk"] == "no"
    try:
        shown = post(ada, base + "/settings/forwarding", {"target": target, "keep": "on"})
        assert f"forwarded to {target}" in shown
        kept = f"fwd-kept-{uuid.uuid4().hex[:6]}"
        send_inbound(ldap_stack, ADA, kept)
        assert wait_for_subject(ldap_stack, target, kept)
        assert wait_for_subject(ldap_stack, ADA, kept, password=seed_password(ldap_stack))
        assert f'value="{target}"' in page(server, ada_url)  # the admin sees it ...
        assert f"<td>{target}</td>" in page(server, base + "/admin/directory/users?q=ada")
        post(server, ada_url, {"quota": "", "junk_days": "", "forward_address": target})  # ... and edits it
        assert userdb(ldap_stack, ADA)["sieve_env_mailroom_forward_keep"] == "no"
        gone = f"fwd-gone-{uuid.uuid4().hex[:6]}"
        send_inbound(ldap_stack, ADA, gone)
        assert wait_for_subject(ldap_stack, target, gone)
        assert gone not in inbox_subjects(ldap_stack, ADA, seed_password(ldap_stack))
        looping = post_refused_with(ada, base + "/settings/forwarding", {"target": ADA}, 422)
        assert "would loop" in looping
    finally:
        post(ada, base + "/settings/forwarding", {"stop": "1"})
        post(ada, base + "/settings/junk", {"mode": "default", "spam_to_junk": "on"})
    assert "sieve_env_mailroom_forward" not in userdb(ldap_stack, ADA)
    assert userdb(ldap_stack, ADA)["sieve_env_mailroom_spam_to_junk"] == "yes"


def inbox_subjects(cfg: dict, address: str, password: str) -> list[str]:
    client = imap_login(cfg, address, password)
    try:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        return [(e[b"ENVELOPE"].subject or b"").decode() for e in client.fetch(uids, ["ENVELOPE"]).values()]
    finally:
        client.logout()


def post_refused_with(opener, url: str, fields: dict, code: int, form_page: str = "") -> str:
    try:
        post(opener, url, fields, form_page)
    except urllib.error.HTTPError as exc:
        assert exc.code == code
        return exc.read().decode()
    raise AssertionError("the form was accepted")


PORTAL_PAGES = ("", "filters", "filters/new", "filters/raw", "filters/test", "vacation", "forwarding", "junk",
                "spam", "storage", "password", "security", "identities", "notifications", "mail-app", "api-tokens")


def test_every_portal_page_answers_a_directory_user(ldap_stack, database, site):
    """Each works for ada, or says plainly why it does not apply: her password is the
    directory's (no form, a change refused). Her extra address is hers to send as and to
    answer for (as the worker last read it)."""
    base, _ = site
    ada = signed_in_opener(base, ADA, seed_password(ldap_stack))
    assert wait_until(lambda: worker_saw(database, ADA), timeout=40), "the worker recorded nobody"
    shown = {}
    for name in PORTAL_PAGES:
        try:
            response = ada.open(f"{base}/settings/{name}")
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"/settings/{name} answered {exc.code}: {exc.read().decode()[:400]}") from exc
        shown[name] = response.read().decode()
        assert response.status == 200 and "Traceback" not in shown[name], name
    assert "change it there" in shown["password"] and 'type="password"' not in shown["password"]
    assert f"countess@{DOMAIN}" in shown["identities"] and f'value="countess@{DOMAIN}"' in shown["vacation"]
    fields = {"current": seed_password(ldap_stack), "new": "A-new-directory-pass-9", "repeat": "A-new-directory-pass-9"}
    refused = post_refused_with(ada, base + "/settings/password", fields, 403, base + "/settings/forwarding")
    assert "change it there" in refused
    imap_login(ldap_stack, ADA, seed_password(ldap_stack)).logout()  # still her directory password


def test_no_rendered_config_that_holds_the_directorys_password_is_world_readable(ldap_stack):
    held = world_readable_secrets(ldap_stack)
    assert held == {}, held


def test_a_directory_user_gets_their_domains_disclaimer_on_outgoing_mail(ldap_stack, database):
    """Disclaimers are per domain (the filter looks up the sender's domain): a directory
    user's submitted mail gets theirs like a mailbox's."""
    token = uuid.uuid4().hex[:10]
    rcpt = new_address(database, DOMAIN, "disclaimed", spam_to_junk=False)
    with database.transaction() as session:
        disclaimers.set_disclaimer(session, DOMAIN, True, f"Sent for example.test, ref {token}", actor="tests")
    try:
        subject = f"dir-disclaimer-{token}"
        submit(ldap_stack, ADA, rcpt, subject, seed_password(ldap_stack))
        assert f"ref {token}".encode() in wait_for_subject(ldap_stack, rcpt, subject)
    finally:
        with database.transaction() as session:
            disclaimers.set_disclaimer(session, DOMAIN, False, "", actor="tests")


def test_a_directory_users_forwarding_page_says_when_the_directory_cannot_be_read(ldap_stack, database):
    port = free_ports(1)[0]
    with database.transaction() as session:
        token = api_tokens.create(session, ADA, f"t-{uuid.uuid4().hex[:6]}", ["personal:read"], "", False,
                                  ldap_stack).secret
    with served_app(ldap_stack, port, LDAP_BIND_PASSWORD="wrong-password-for-the-test"):
        base = f"http://127.0.0.1:{port}"
        ada = signed_in_opener(base, ADA, seed_password(ldap_stack))  # Dovecot binds as her
        try:
            ada.open(base + "/settings/forwarding")
        except urllib.error.HTTPError as exc:
            assert exc.code == 503 and "The user directory does not answer" in exc.read().decode()
        else:
            raise AssertionError("the page answered")
        status, answer = api(base, token, "GET", "/personal/forwarding")  # the API names it too
        assert status == 503 and answer["error"].startswith("The user directory does not answer")


def api(base: str, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """The status and JSON answer of one request to the served API with TOKEN."""
    request = urllib.request.Request(f"{base}/api/v1{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_a_directory_users_api_token_works_while_the_directory_has_them_enabled(ldap_stack, database, site):
    base, _ = site
    ada = signed_in_opener(base, ADA, seed_password(ldap_stack))
    made = post(ada, base + "/settings/api-tokens", {"name": "Holiday script", "scopes": "personal"})
    token = re.search(r'aria-label="New API token">(mrt_[A-Za-z0-9_-]+)<', made).group(1)
    reply = {"enabled": True, "subject": f"away-{uuid.uuid4().hex[:6]}", "message": "Back on Monday.", "days": 2}
    assert api(base, token, "PUT", "/personal/vacation", reply)[0] == 200
    with managesieve(ldap_stack, ADA, seed_password(ldap_stack)) as store:  # what Pigeonhole runs
        held = read(store.get(store.listing().active)).vacation
    assert held.enabled and held.subject == reply["subject"] and held.days == 2
    assert api(base, token, "PUT", "/personal/vacation", {**reply, "enabled": False})[0] == 200

    # Another person's token stops at once when the directory disables or removes them,
    # and does not pass to a new person given the address.
    address = f"tok{uuid.uuid4().hex[:6]}@{DOMAIN}"
    dn = add_person(ldap_stack, address)
    with database.transaction() as session:
        theirs = api_tokens.create(session, address, "Script", ["personal:read"], "", False, ldap_stack).secret
    assert api(base, theirs, "GET", "/personal/junk")[0] == 200
    with admin(ldap_stack) as conn:
        assert conn.modify(dn, {"pwdAccountLockedTime": [(MODIFY_REPLACE, ["000001010000Z"])]}), conn.result
    assert api(base, theirs, "GET", "/personal/junk")[0] == 401
    with admin(ldap_stack) as conn:
        assert conn.modify(dn, {"pwdAccountLockedTime": [(MODIFY_DELETE, [])]}), conn.result
    assert api(base, theirs, "GET", "/personal/junk")[0] == 200
    remove(ldap_stack, dn)
    assert api(base, theirs, "GET", "/personal/junk")[0] == 401
    successor = add_person(ldap_stack, address)
    try:
        assert api(base, theirs, "GET", "/personal/junk")[0] == 401
    finally:
        remove(ldap_stack, successor)
