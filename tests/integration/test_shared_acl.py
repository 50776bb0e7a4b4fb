"""Shared mailboxes' IMAP ACLs follow the database, even after Dovecot's were changed
behind the app's back (issue 12 item 9).

Access is granted and revoked through the admin pages, then broken with Dovecot's own
`doveadm` as an operator would; the worker's reconcile step (the one it runs at start
and every few minutes) must put back exactly what the database says, as a real IMAP
login of each person proves.
"""
from __future__ import annotations

import json
import subprocess

import pytest
from imapclient.exceptions import IMAPClientError

from core.models import AuditEntry
from stack.layout import Layout
from stack.worker.acls import reconcile
from tests.helpers import imap_login, new_address
from tests.integration.admin_support import server_admin, unique

pytestmark = pytest.mark.directory  # run again on PostgreSQL (stack/test.sh)


@pytest.fixture(scope="module")
def admin(app, stack_db, domain):
    """A signed-in server admin."""
    return server_admin(app, stack_db, domain)


def doveadm(cfg: dict, *args: str) -> None:
    """Run Dovecot's own doveadm against the stack, as an operator at the shell would."""
    conf = Layout.from_config(cfg).dovecot_conf
    subprocess.run(["doveadm", "-c", str(conf), *args], check=True, capture_output=True, timeout=30)


def can_open(cfg: dict, address: str, folder: str) -> bool:
    """Whether ADDRESS, logged in over IMAP, may open FOLDER."""
    client = imap_login(cfg, address)
    try:
        client.select_folder(folder, readonly=True)
        return True
    except IMAPClientError:
        return False
    finally:
        client.logout()


def repaired(cfg: dict, stack_db, desk: str) -> list:
    """Run the worker's reconcile step; the repairs it made to DESK."""
    return [r for r in reconcile(cfg, stack_db) if r.address == desk]


def test_reconcile_puts_back_what_the_database_says(admin, mail_stack, stack_db, domain):
    member, former = new_address(stack_db, domain, "member"), new_address(stack_db, domain, "former")
    group, desk = unique("team"), f"{unique('desk')}@{domain}"
    assert admin.post("/admin/groups", {"name": group}).status_code == 302
    for person in (member, former):
        assert admin.post(f"/admin/groups/{group}/members", {"address": person}).status_code == 302
    assert admin.post("/admin/shared/new", {"address": desk, "owners": [group]}).status_code == 302
    inbox, sent = f"shared/{desk}", f"shared/{desk}/Sent"
    assert can_open(mail_stack, former, inbox)
    assert admin.post(f"/admin/groups/{group}/members/remove", {"address": former}).status_code == 302
    assert not can_open(mail_stack, former, inbox) and can_open(mail_stack, member, sent)
    assert repaired(mail_stack, stack_db, desk) == []  # the app's own changes are no drift

    # Behind the app's back: the group loses the INBOX and keeps only "lookup" on Sent,
    # the person who left the group gets the INBOX back as a user of their own.
    doveadm(mail_stack, "acl", "delete", "-u", desk, "INBOX", f"group={group}")
    doveadm(mail_stack, "acl", "set", "-u", desk, "INBOX", f"user={former}", "lookup", "read")
    doveadm(mail_stack, "acl", "set", "-u", desk, "Sent", f"group={group}", "lookup")
    assert can_open(mail_stack, former, inbox)
    assert not can_open(mail_stack, member, inbox) and not can_open(mail_stack, member, sent)

    repairs = repaired(mail_stack, stack_db, desk)
    assert {r.folder: r.found for r in repairs} == {
        "INBOX": [f"user={former} lookup read"], "Sent": [f"group={group} lookup"]}
    assert not can_open(mail_stack, former, inbox)
    assert can_open(mail_stack, member, inbox) and can_open(mail_stack, member, sent)
    assert repaired(mail_stack, stack_db, desk) == []  # nothing left to repair
    with stack_db.transaction() as session:
        entry = session.query(AuditEntry).filter_by(target=desk, action="repair").one()
        assert entry.actor == "worker" and f"user={former}" in entry.before


def test_reconcile_on_demand_from_the_command_line(app, admin, mail_stack, stack_db, domain):
    member, group, desk = new_address(stack_db, domain, "member"), unique("crew"), f"{unique('desk')}@{domain}"
    assert admin.post("/admin/groups", {"name": group}).status_code == 302
    assert admin.post(f"/admin/groups/{group}/members", {"address": member}).status_code == 302
    assert admin.post("/admin/shared/new", {"address": desk, "owners": [group]}).status_code == 302
    doveadm(mail_stack, "acl", "delete", "-u", desk, "INBOX", f"group={group}")
    assert not can_open(mail_stack, member, f"shared/{desk}")

    result = app.test_cli_runner().invoke(args=["shared", "reconcile", "--json"])
    assert result.exit_code == 0, result.output
    assert {"address": desk, "folder": "INBOX", "found": []} in [
        {k: r[k] for k in ("address", "folder", "found")} for r in json.loads(result.output)]
    assert can_open(mail_stack, member, f"shared/{desk}")
    result = app.test_cli_runner().invoke(args=["shared", "reconcile"])
    assert desk not in result.output
