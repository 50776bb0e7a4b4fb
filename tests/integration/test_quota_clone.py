"""The dashboard's quota column from Dovecot's quota_clone copy (issue 14 item 8): a
delivery and an IMAP APPEND write the mailbox's use into the SQLite copy, the dashboard
shows it, and a mailbox Dovecot never copied is measured once by the privileged helper.
"""
from __future__ import annotations

import re

from stack import quota_clone
from stack.layout import Layout
from tests.helpers import imap_login, new_address, new_server_admin
from tests.integration.admin_support import AdminClient, send_inbound, unique, wait_until


def copied(cfg: dict, address: str) -> tuple[int, int] | None:
    """(bytes, messages) of ADDRESS in quota_clone's table, None while absent."""
    return quota_clone.read(quota_clone.database(Layout.from_config(cfg))).get(address)


def dashboard_row(admin: AdminClient, domain: str, address: str) -> str:
    page = admin.text(f"/admin/?domain={domain}")
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
