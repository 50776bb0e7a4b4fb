"""Rotating the stack's logs against the real daemons: each writes its next lines afresh."""
from __future__ import annotations

import gzip
import re
import time

import pytest

from core.services.server import mailstore
from stack.layout import Layout
from stack.logs import generation, rotate
from tests.helpers import imap_login, new_address, wait_for_subject
from tests.integration.admin_support import send_inbound, unique, wait_until

REOPENING = ("postfix", "dovecot", "rspamd", "redis")


@pytest.fixture
def layout(mail_stack) -> Layout:
    """The session stack's layout."""
    return Layout.from_config(mail_stack)


def text(path) -> str:
    """A log file's text."""
    return path.read_text(encoding="utf-8", errors="replace")


def postfix_queue_id(raw: bytes) -> str:
    """The queue id Postfix gave a delivered message (its own Received header)."""
    found = re.search(rb"\(Postfix\) with E?SMTP\w* id (\w+)", raw)
    assert found, raw[:800]
    return found.group(1).decode()


def test_each_daemon_writes_into_the_fresh_log(mail_stack, stack_db, domain, layout):
    address = new_address(stack_db, domain, "rot", spam_to_junk=False)
    for name in REOPENING + ("worker",):
        layout.log_file(name).open("ab").close()
    marker = unique("before-rotation")
    with layout.log_file("postfix").open("a") as handle:  # over any limit below
        handle.write(f"{marker}\n" + "x" * 4096 + "\n")
    began = time.monotonic()
    done = rotate(layout, 0, 3, names=REOPENING + ("worker",))
    print(f"rotated {len(done)} logs in {time.monotonic() - began:.2f} s")
    assert "postfix" in {r.name for r in done}
    with gzip.open(generation(layout, "postfix", 1), "rt") as old:
        assert marker in old.read()
    assert marker not in text(layout.log_file("postfix"))
    assert not layout.log_file("postfix").with_name("postfix.log.1").exists()

    subject = unique("after-rotation")
    send_inbound(mail_stack, address, subject)
    queue_id = postfix_queue_id(wait_for_subject(mail_stack, address, subject))
    imap_login(mail_stack, address).logout()
    mailstore.kick(mail_stack, address)  # the worker logs each helper call
    assert wait_until(lambda: queue_id in text(layout.log_file("postfix")))
    assert wait_until(lambda: address in text(layout.log_file("dovecot")))
    assert wait_until(lambda: queue_id in text(layout.log_file("rspamd")))
    assert wait_until(lambda: "kick done" in text(layout.log_file("worker")))


def test_generations_move_up_and_the_oldest_goes(layout):
    path = layout.log_file("learnd")
    for round_number in range(4):
        with path.open("a") as handle:
            handle.write(f"round {round_number}\n")
        assert [r.name for r in rotate(layout, 0, 2, names=("learnd",))] == ["learnd"]
    assert path.stat().st_size == 0  # copied, then truncated: learnd keeps its descriptor
    with gzip.open(generation(layout, "learnd", 1), "rt") as newest:
        assert newest.read().endswith("round 3\n")
    with gzip.open(generation(layout, "learnd", 2), "rt") as older:
        assert older.read().endswith("round 2\n")
    assert not generation(layout, "learnd", 3).exists()


def test_nothing_is_rotated_under_the_limit(layout):
    assert rotate(layout, 1 << 40, 5) == []


def test_cli_logrotate_json(app, layout):
    result = app.test_cli_runner().invoke(args=["stack", "logrotate", "--json"])
    assert result.exit_code == 0, result.output
    assert '"keep": 5' in result.output and '"rotated": []' in result.output
