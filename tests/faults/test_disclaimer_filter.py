"""The disclaimer filter (Postfix's after-queue content_filter) stopped while mail is sent."""
from __future__ import annotations

import json
import subprocess
import time
import uuid

from core.services.directory import lookup
from stack.layout import Layout
from tests.helpers import new_address, submit, wait_for_subject
from tests.integration.portal_support import settle, unique
from tests.integration.test_disclaimer import marked_parts, set_text

from .support import count, stopped


def postqueue(cfg: dict, *args: str) -> str:
    """Run Postfix's postqueue on the stack's configuration."""
    etc = Layout.from_config(cfg).postfix_etc
    result = subprocess.run(["postqueue", "-c", str(etc), *args], capture_output=True, text=True,
                            check=True, timeout=30)
    return result.stdout


def queued_for(cfg: dict, address: str) -> list[dict]:
    """The queue entries (postqueue -j) with a recipient ADDRESS."""
    entries = [json.loads(line) for line in postqueue(cfg, "-j").splitlines() if line.strip()]
    return [e for e in entries if any(r["address"] == address for r in e["recipients"])]


def wait_deferred(cfg: dict, address: str, timeout: float = 20.0) -> list[dict]:
    """Queue entries for ADDRESS once Postfix has tried the filter and deferred them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = [e for e in queued_for(cfg, address) if e["queue_name"] == "deferred"]
        if entries:
            return entries
        time.sleep(0.2)
    raise AssertionError(f"no deferred message for {address} after {timeout}s")


def test_filter_down_defers_outgoing_mail_then_delivers_it_once_with_the_disclaimer(
        mail_stack, stack_db, domain):
    sending_domain = f"faults-{uuid.uuid4().hex[:8]}.test"
    with stack_db.transaction() as session:
        lookup.add_domain(session, sending_domain)
    set_text(stack_db, sending_domain, True, "fault")
    sender = new_address(stack_db, sending_domain, "staff", spam_to_junk=False)
    rcpt = new_address(stack_db, domain, "rcpt", spam_to_junk=False)
    subject = unique("filter-down")

    with stopped(mail_stack, "disclaimer"):
        submit(mail_stack, sender, rcpt, subject)  # accepted: the queue keeps it
        [entry] = wait_deferred(mail_stack, rcpt)
        reason = entry["recipients"][0].get("delay_reason", "")
        assert f":{mail_stack['FILTER_PORT']}" in reason and "refused" in reason.lower(), reason
        assert count(mail_stack, rcpt, "INBOX", subject) == 0  # never without the disclaimer

    postqueue(mail_stack, "-f")
    arrived = wait_for_subject(mail_stack, rcpt, subject, timeout=60)
    assert len(marked_parts(arrived, sending_domain)) == 1
    settle(mail_stack, rcpt)  # a later message has arrived: no second copy is on its way
    assert count(mail_stack, rcpt, "INBOX", subject) == 1
    assert not queued_for(mail_stack, rcpt)
    assert count(mail_stack, sender, "INBOX") == 0  # no bounce: nothing was lost on the way
