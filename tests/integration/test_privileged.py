"""The privileged helper (issue 11): typed operations only, every argument checked, every call logged."""
from __future__ import annotations

import grp
import json
import socket
import stat
import time
import uuid

import pytest

from core.mail import privileged
from stack.layout import Layout
from stack.privileged import socket_path
from tests.helpers import imap_login, new_address


@pytest.fixture
def helper(mail_stack):
    """Call the running helper; return (path, call)."""
    path = socket_path(Layout.from_config(mail_stack))

    def call(op, **args):
        return privileged.call(path, op, args, timeout=30)
    return path, call


def _worker_log_since(mail_stack, offset: int) -> str:
    log = Layout.from_config(mail_stack).log_file("worker")
    deadline = time.monotonic() + 5
    text = ""
    while time.monotonic() < deadline:
        with open(log, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
        if "refused" in text:
            break
        time.sleep(0.1)
    return text


def test_socket_is_only_for_root_and_the_apps_group(helper):
    path, _ = helper
    info = path.stat()
    assert stat.S_ISSOCK(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o660
    assert info.st_uid == 0 and grp.getgrgid(info.st_gid).gr_name in ("mailroom", "root")


def test_typed_operations_work_for_a_real_mailbox(helper, mail_stack, stack_db, domain):
    _, call = helper
    address = new_address(stack_db, domain, "priv")
    imap_login(mail_stack, address).logout()  # creates the mailbox's storage
    fields = call("quotas", addresses=[address])[address]
    assert "STORAGE" in fields
    assert call("kick", address=address) is False  # nobody is connected
    assert call("kick", address=f"gone-{uuid.uuid4().hex[:6]}@{domain}") is False  # a deleted one


@pytest.mark.parametrize("op, args, reason", [
    ("erase_mail", {"path": "/etc"}, "unknown operation"),
    ("quotas", {"addresses": ["nobody-here@example.test"]}, "is not a mailbox"),
    ("quotas", {"addresses": ["../../../etc/passwd"]}, "is not an e-mail address"),
    ("quotas", {"addresses": ["x" * 5000 + "@example.test"]}, "longer than"),
    ("quotas", {"addresses": "a@example.test"}, "must be a list"),
    ("quotas", {"addresses": [["a@example.test"]]}, "must be a non-empty string"),
    ("kick", {"address": "someone@not-our-domain.test"}, "is not an address of our domains"),
    ("sieve_test", {"address": "PLACEHOLDER", "script": "keep;", "message": 42}, "message must be"),
    ("shared_access", {"address": "PLACEHOLDER", "owners": ["staff"]}, "is not a shared mailbox"),
    ("shared_access", {"address": "PLACEHOLDER\r\nkick *"}, "control characters"),
    ("dkim_key", {"domain": "not-our-domain.test", "action": "ensure"}, "is not a domain of ours"),
    ("dkim_key", {"domain": "../../etc", "action": "ensure"}, "not a valid domain name"),
    ("dkim_key", {"domain": "example.test", "action": "erase"}, "action must be"),
])
def test_hostile_requests_are_refused_and_logged(helper, mail_stack, stack_db, domain, op, args, reason):
    _, call = helper
    if str(args.get("address", "")).startswith("PLACEHOLDER"):
        args = {**args, "address": args["address"].replace("PLACEHOLDER", new_address(stack_db, domain, "victim"))}
    offset = Layout.from_config(mail_stack).log_file("worker").stat().st_size
    with pytest.raises(privileged.Refused, match=reason):
        call(op, **args)
    assert f"{op[:40]} refused: " in _worker_log_since(mail_stack, offset)


def _send_raw(path, payload: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(path))
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the helper stopped reading at its limit and answered
        try:
            return sock.makefile("rb").read()
        except ConnectionResetError:  # it closed with our excess unread: Linux resets then
            return b""


def test_garbage_and_oversized_requests_are_refused(helper, mail_stack):
    path, _ = helper
    for payload in (b"not json\n", b"[1, 2]\n"):
        answer = json.loads(_send_raw(path, payload))
        assert answer["ok"] is False and answer["error"]
    offset = Layout.from_config(mail_stack).log_file("worker").stat().st_size
    _send_raw(path, b'{"op": "kick", "args": {"address": "' + b"a" * (5 * 1024 * 1024) + b'"}}')
    assert "request larger than" in _worker_log_since(mail_stack, offset)


def test_a_group_that_does_not_exist_is_refused(helper, mail_stack, stack_db, domain):
    from core.services.access.roles import Roles
    from core.services.directory import groups, shared

    _, call = helper
    owners = f"own{uuid.uuid4().hex[:6]}"
    address = f"box{uuid.uuid4().hex[:6]}@{domain}"
    with stack_db.transaction() as session:
        groups.create_group(session, "test", owners)
        shared.create_shared(session, "test", Roles(server=True), address, "", [owners])
    with pytest.raises(privileged.Refused, match="no group"):
        call("shared_access", address=address, owners=["ghosts"])
