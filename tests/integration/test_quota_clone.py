"""The dashboard's quota column from Dovecot's quota_clone copy (issue 14 item 8): a
delivery and an IMAP APPEND write the mailbox's use into the SQLite copy, the dashboard
shows it, and a mailbox Dovecot never copied is measured once by the privileged helper.
"""
from __future__ import annotations

import re
import subprocess
import threading

from stack import quota_clone
from stack.layout import Layout
from tests.helpers import folder_uids, imap_login, new_address, new_server_admin
from tests.integration.admin_support import AdminClient, send_inbound, unique, wait_until


def copied(cfg: dict, address: str) -> tuple[int, int] | None:
    """(bytes, messages) of ADDRESS in quota_clone's table, None while absent."""
    return quota_clone.read(quota_clone.database(Layout.from_config(cfg))).get(address)


def dashboard_row(admin: AdminClient, domain: str, address: str) -> str:
    page = admin.text(f"/admin/?domain={domain}&q={address}")  # its page: the table is paged
    return re.search(rf"<tr[^>]*>\s*<td><a [^>]*>{re.escape(address)}</a>.*?</tr>", page, re.S).group(0)


def test_delivery_and_append_are_copied_and_shown(app, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "measured", spam_to_junk=False)
    send_inbound(mail_stack, address, unique("counted"))
    assert wait_until(lambda: (copied(mail_stack, address) or (0, 0))[1] == 1, 20)
    size = copied(mail_stack, address)[0]
    assert size > 0

    client = imap_login(mail_stack, address)
    try:
        client.append("INBOX", b"Subject: appended\r\n\r\n" + b"y" * 300_000)
    finally:
        client.logout()
    assert wait_until(lambda: copied(mail_stack, address)[1] == 2, 20)
    assert copied(mail_stack, address)[0] > size + 300_000

    admin = AdminClient(app, new_server_admin(stack_db, domain, "quotas"))
    row = dashboard_row(admin, domain, address)
    assert "not measured yet" not in row and '<td class="num opt">2</td>' in row, row


def test_a_mailbox_never_copied_is_measured_once_for_the_dashboard(app, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "unmeasured")
    imap_login(mail_stack, address).logout()  # storage exists, nothing saved: no copy yet
    assert copied(mail_stack, address) is None
    admin = AdminClient(app, new_server_admin(stack_db, domain, "backfill"))
    row = dashboard_row(admin, domain, address)
    assert "not measured yet" not in row and '<td class="num opt">0</td>' in row, row
    assert copied(mail_stack, address) == (0, 0)  # recorded: the next view is one query


def dict_processes(cfg: dict) -> int:
    """How many of this stack's Dovecot dict processes are running (by process title)."""
    title = f"dovecot-{Layout.from_config(cfg).instance_name}/dict"
    return sum(1 for line in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True,
                                            check=True).stdout.splitlines()
               if line.split(" ", 1)[0] == title)


def test_deliveries_at_once_are_copied_by_one_writer(mail_stack, stack_db, domain):
    """Dovecot's SQLite dict gives up on a lock after about a second. With a dict process
    per client, deliveries at once queued behind each other's commits on a busy disk and
    dropped updates (the mail-flow load test in CI); one process writes them in turn."""
    addresses = [new_address(stack_db, domain, "burst", spam_to_junk=False) for _ in range(8)]

    def deliver(first: int) -> None:
        for n in range(3):
            send_inbound(mail_stack, addresses[(first + n) % len(addresses)], unique("burst"))

    senders = [threading.Thread(target=deliver, args=(n,)) for n in range(len(addresses))]
    for sender in senders:
        sender.start()
    most = 0
    while any(sender.is_alive() for sender in senders):
        most = max(most, dict_processes(mail_stack))
    for sender in senders:
        sender.join()
    # Up to 90 s: 24 messages through Rspamd on a machine busy with the rest of the suite (one
    # the filter could not scan in time is retried by Postfix minutes later: not waited for).
    wait_until(lambda: all(len(folder_uids(mail_stack, a, "INBOX")) == 3 for a in addresses), 90, 1)
    stored = {a: len(folder_uids(mail_stack, a, "INBOX")) for a in addresses}
    assert sum(stored.values()) > len(addresses), stored  # deliveries did come at once

    def wrong() -> dict:
        return {a: (n, copied(mail_stack, a)) for a, n in stored.items()
                if (copied(mail_stack, a) or (0, 0))[1] != n}
    assert wait_until(lambda: not wrong(), 30), wrong()  # every delivery's update was written
    assert most == 1
