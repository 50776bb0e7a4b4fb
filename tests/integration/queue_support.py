"""Helpers for the queue's tests: a relay domain whose relay host is down, a message that
waits for it, Postfix's own view of the queue and of its delivery attempts."""
from __future__ import annotations

import json
import re

from core.services.directory import domains
from stack.layout import Layout
from tests.conftest import free_ports
from tests.integration.admin_support import send_inbound, unique, wait_until
from tests.integration.server_support import postfix_tool, queued


def relay_down_domain(stack_db) -> str:
    """A new relay domain whose relay host is a closed loopback port: its mail is deferred."""
    name = f"{unique('down')}.test"
    closed = free_ports(1)[0]  # nothing listens there
    with stack_db.transaction() as session:
        domain = domains.create_domain(session, "tests", name)
        domains.update_domain(session, "tests", domain, mode="relay", relay=f"127.0.0.1:{closed}")
    return name


def deferred_message(cfg: dict, recipient: str, subject: str = "",
                     sender: str = "someone@outside.test") -> dict:
    """Send a message to RECIPIENT (of a relay-down domain) and return its queue entry
    (`postqueue -j`) once Postfix has deferred it."""
    send_inbound(cfg, recipient, subject or unique("queued"), sender=sender)
    assert wait_until(lambda: (queued(cfg, recipient) or {}).get("queue_name") == "deferred", 30), \
        queued(cfg, recipient)
    return queued(cfg, recipient)


def attempts(cfg: dict, queue_id: str) -> int:
    """How many times Postfix's log shows a delivery of QUEUE_ID deferred."""
    log = Layout.from_config(cfg).log_file("postfix").read_text(errors="replace")
    return len(re.findall(rf"\b{queue_id}: to=<[^>]*>.*status=deferred", log))


def forget(cfg: dict, domain: str) -> None:
    """Delete every queued message for DOMAIN (the session's stack is shared)."""
    ids = [entry["queue_id"] for entry in map(json.loads, postfix_tool(cfg, "postqueue", "-j").splitlines())
           if any(r["address"].endswith("@" + domain) for r in entry["recipients"])]
    for queue_id in ids:
        postfix_tool(cfg, "postsuper", "-d", queue_id)
