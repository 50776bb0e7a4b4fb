"""Admin → Server → Queue and `flask --app app queue`, on the real Postfix: a relay domain
whose relay host is down defers its mail; the page shows it with its reason, "Attempt to
send" tries again (it stays deferred), delete removes it, and a gone id says so.
"""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from core.mail import privileged
from core.models import AuditEntry
from stack.layout import Layout
from stack.mailqueue import valid_queue_id
from stack.privileged import socket_path
from tests.helpers import command_runner, new_domain_admin, new_server_admin
from tests.integration.admin_support import AdminClient, unique, wait_until

from .queue_support import attempts, deferred_message, forget, relay_down_domain
from .server_support import WEB_IP, postfix_tool, queued

GONE = "is no longer in the queue"


@pytest.fixture(scope="module")
def admin(app, stack_db, domain):
    return AdminClient(app, new_server_admin(stack_db, domain, "queue"), ip=WEB_IP)


@pytest.fixture(scope="module")
def far(mail_stack, stack_db):
    """A relay domain whose relay host is down; its mail leaves the queue afterwards."""
    name = relay_down_domain(stack_db)
    yield name
    forget(mail_stack, name)


@pytest.fixture
def cli(app):
    """Run a `queue` command; (exit code, output) with --json output parsed."""
    return command_runner(app, "queue")


def audited(stack_db, target: str) -> list[str]:
    with stack_db.factory() as session:
        return list(session.scalars(select(AuditEntry.action).where(
            AuditEntry.kind == "server", AuditEntry.target == target).order_by(AuditEntry.id)))


def test_deferred_message_shows_its_reason_stays_deferred_when_flushed_and_goes_when_deleted(
        admin, mail_stack, stack_db, far):
    rcpt, sender = f"bob@{far}", f"{unique('ann')}@outside.test"
    subject = unique("waits")
    queue_id = deferred_message(mail_stack, rcpt, subject, sender)["queue_id"]

    page = admin.get(f"/admin/server/queue?recipient={far}").get_data(as_text=True)
    assert queue_id in page and sender in page and rcpt in page and "deferred" in page
    assert "Connection refused" in page  # the delay reason, Postfix's words
    assert queue_id not in admin.get("/admin/server/queue?sender=nobody-sends-this").get_data(as_text=True)
    headers = admin.get(f"/admin/server/queue/message/{queue_id}").get_data(as_text=True)
    assert f"Subject: {subject}" in headers

    tried = attempts(mail_stack, queue_id)
    response = admin.post("/admin/server/queue/flush", {"queue_id": queue_id, "recipient": far})
    assert response.status_code == 302 and f"recipient={far}" in response.headers["Location"]
    assert wait_until(lambda: attempts(mail_stack, queue_id) > tried, 30)  # tried again, now
    assert wait_until(lambda: (queued(mail_stack, rcpt) or {}).get("queue_name") == "deferred", 30)
    assert queued(mail_stack, rcpt)["queue_id"] == queue_id

    assert admin.post("/admin/server/queue/delete", {"queue_id": queue_id}).status_code == 302
    assert queued(mail_stack, rcpt) is None
    assert f"Deleted message {queue_id}" in admin.get("/admin/server/queue").get_data(as_text=True)
    assert queue_id not in admin.get("/admin/server/queue").get_data(as_text=True)  # flash shown
    assert audited(stack_db, f"queue: {queue_id}") == ["flush", "delete"]

    gone = admin.get(f"/admin/server/queue/message/{queue_id}")
    assert gone.status_code == 404 and GONE in gone.get_data(as_text=True)
    admin.post("/admin/server/queue/flush", {"queue_id": queue_id})
    assert GONE in admin.get("/admin/server/queue").get_data(as_text=True)  # the flashed message


def test_delete_all_deletes_only_the_count_it_was_confirmed_for(admin, mail_stack, stack_db, far):
    for n in range(2):
        deferred_message(mail_stack, f"all{n}@{far}")
    confirm = admin.get("/admin/server/queue/delete-all").get_data(as_text=True)
    total = int(confirm.split('name="expected" value="')[1].split('"')[0])
    assert total >= 2 and f"Delete all {total} messages" in confirm

    response = admin.post("/admin/server/queue/delete-all", {"expected": str(total + 1)})
    assert response.status_code == 302
    page = admin.get("/admin/server/queue").get_data(as_text=True)
    assert f"holds {total} message(s) now, not {total + 1}: nothing was deleted" in page
    assert queued(mail_stack, f"all0@{far}") is not None

    assert admin.post("/admin/server/queue/delete-all", {"expected": str(total)}).status_code == 302
    assert queued(mail_stack, f"all0@{far}") is None and queued(mail_stack, f"all1@{far}") is None
    assert f"Deleted {total} message(s)" in admin.get("/admin/server/queue").get_data(as_text=True)


def test_queue_commands_list_show_flush_and_delete_with_json(cli, mail_stack, stack_db, far):
    rcpt, subject = f"carl@{far}", unique("cli")
    queue_id = deferred_message(mail_stack, rcpt, subject)["queue_id"]

    code, rows = cli("list", "--recipient", rcpt, "--json")
    assert code == 0 and [r["queue_id"] for r in rows] == [queue_id]
    assert rows[0]["queue"] == "deferred" and "Connection refused" in rows[0]["reason"]
    assert rows[0]["recipients"] == [{"address": rcpt, "reason": rows[0]["reason"]}]
    code, shown = cli("show", queue_id, "--json")
    assert code == 0 and f"Subject: {subject}" in shown["headers"]
    assert cli("flush", queue_id, "--json") == (0, {"flushed": queue_id})
    code, text = cli("list")
    assert code == 0 and queue_id in text

    assert cli("delete", queue_id, "--json") == (0, {"deleted": 1})
    assert queued(mail_stack, rcpt) is None
    for args in (("show", queue_id), ("flush", queue_id), ("delete", queue_id)):
        code, text = cli(*args)
        assert code != 0 and GONE in text, args
    code, text = cli("show", "ALL")
    assert code != 0 and "is not a Postfix queue id" in text
    code, text = cli("delete", "--all")
    assert code != 0 and "--yes" in text

    deferred_message(mail_stack, f"dave@{far}")
    code, done = cli("delete", "--all", "--yes", "--json")
    assert code == 0 and done["deleted"] >= 1 and queued(mail_stack, f"dave@{far}") is None
    assert cli("list", "--json") == (0, [])


@pytest.mark.parametrize("op, args", [
    ("queue_headers", {"queue_id": "ALL"}),
    ("queue_headers", {"queue_id": "-"}),
    ("queue_delete", {"queue_id": "-d"}),
    ("queue_delete", {"queue_id": "ALL"}),
    ("queue_delete", {"queue_id": "../../etc/passwd"}),
    ("queue_flush", {"queue_id": "A9B57263678; rm -rf /"}),
    ("queue_flush", {"queue_id": ["A9B57263678"]}),
    ("queue_delete", {"all": True, "expected": "3"}),
    ("queue_list", {"sender": {"$ne": ""}}),
    ("queue_list", {"offset": -1}),
])
def test_the_helper_refuses_what_is_not_a_queue_id(mail_stack, op, args):
    with pytest.raises(privileged.Refused):
        privileged.call(socket_path(Layout.from_config(mail_stack)), op, args, timeout=30)


def test_queue_ids_of_both_postfix_forms_and_nothing_else():
    assert valid_queue_id("A9B57263678") and valid_queue_id("4Kx3Lq1Wjbz7Hn")
    for bad in ("ALL", "-", "-d", "a9b57263678", "A9B5 7263", "", "A9B57263678\n", None, 12345678):
        assert not valid_queue_id(bad), bad


def test_domain_admins_get_403_and_no_queue_anywhere(app, stack_db, domain, far):
    client = AdminClient(app, new_domain_admin(stack_db, domain, domain), ip=WEB_IP)
    for url in ("/admin/server/queue", "/admin/server/queue/message/A9B57263678",
                "/admin/server/queue/delete-all"):
        assert client.get(url).status_code == 403, url
    for url in ("/admin/server/queue/flush", "/admin/server/queue/delete",
                "/admin/server/queue/delete-all"):
        assert client.post(url, {"queue_id": "A9B57263678", "expected": "0"}).status_code == 403, url
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert "/admin/server/queue" not in dashboard and "Deferred" not in dashboard


def test_dashboard_counts_deferred_mail_and_links_to_the_queue(admin, mail_stack, far):
    deferred_message(mail_stack, f"eve@{far}")
    page = admin.get("/admin/").get_data(as_text=True)
    shown = re.search(r'<dt>Deferred</dt><dd><a href="/admin/server/queue"[^>]*>(\d+)</a>', page)
    entries = [json.loads(line) for line in postfix_tool(mail_stack, "postqueue", "-j").splitlines()]
    assert shown and int(shown.group(1)) == sum(e["queue_name"] == "deferred" for e in entries) >= 1
