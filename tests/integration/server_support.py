"""Helpers for Admin → Server's tests: settings through the page and the service, SMTP probes,
an in-test SMTP server standing for another mail server."""
from __future__ import annotations

import json
import re
import smtplib
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from core.services.server import settings
from tests.conftest import free_ports
from tests.helpers import new_server_admin
from tests.integration.admin_support import AdminClient, unique, wait_until

# This issue's own loopback addresses (mynetworks and Postfix's limits are per client).
WEB_IP = "127.0.0.80"
LISTED = "127.0.0.81"
UNLISTED = "127.0.0.82"
NETWORK = "127.0.0.84/30"  # 127.0.0.84 - .87
IN_NETWORK = "127.0.0.86"
DEVICE = "127.0.0.88"  # signs in on port 25
DEFAULTS = {"queue_lifetime_days": "4", "always_bcc": "", "helo_name": "", "relay_networks": "",
            "relay_trusted_networks": "off", "auth_on_port_25": "off", "deleted_to_trash": "off",
            "allow_unencrypted": "off", "antivirus": "on", "master_user": "off",
            "block_executables": "off", "block_archives": "off", "block_types": ""}


@pytest.fixture(scope="module")
def admin(app, stack_db, domain):
    """A signed-in server admin."""
    return AdminClient(app, new_server_admin(stack_db, domain, "server"), ip=WEB_IP)


@pytest.fixture(autouse=True)
def defaults(mail_stack, stack_db):
    """The session's stack is shared: every setting goes back to its default afterwards."""
    yield
    reset(mail_stack, stack_db)


def reset(cfg: dict, stack_db) -> None:
    """Every setting back to its default (the session's stack is shared), applied."""
    with stack_db.factory() as session:
        settings.update(session, cfg, {**DEFAULTS, "message_size_mb": str(cfg["MESSAGE_SIZE_LIMIT_MB"])},
                        "tests")


def save(admin, section: str, **fields) -> float:
    """Post one form of the settings page; the seconds from the post until its answer."""
    began = time.monotonic()
    response = admin.post(f"/admin/server/{section}", fields)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return time.monotonic() - began


def smtp(cfg: dict, source: str = "127.0.0.1") -> smtplib.SMTP:
    """A connection to Postfix's port 25 (the stack's SMTP_PORT) from SOURCE."""
    return smtplib.SMTP(cfg["LISTEN_ADDRESS"], cfg["SMTP_PORT"], local_hostname="client.test",
                        timeout=30, source_address=(source, 0))


def relay_answer(cfg: dict, source: str, to: str = "someone@elsewhere.example") -> tuple[int, bytes]:
    """Postfix's answer to RCPT TO:<TO> (not one of our domains) from SOURCE."""
    with smtp(cfg, source) as conn:
        conn.ehlo()
        conn.mail("device@outside.test")
        return conn.rcpt(to)


def relay_allowed(cfg: dict, source: str) -> bool:
    """Whether Postfix lets SOURCE relay: past the relay check, the loopback stack's
    default transport (error:, it sends nothing to the internet) answers instead."""
    code, text = relay_answer(cfg, source)
    if (code, text[:5]) == (554, b"5.7.1") and b"Relay access denied" in text:
        return False
    assert code == 550 and b"does not send mail to the internet" in text, (code, text)
    return True


def obeyed(check, began: float, timeout: float = 20.0) -> float:
    """Wait until CHECK() holds; the seconds since BEGAN (for the report's figures)."""
    assert wait_until(check, timeout, 0.05)
    return time.monotonic() - began


class Sink:
    """Another mail server: keeps each message with the EHLO name its client gave."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.received.append((session.host_name, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def with_subject(self, subject: str) -> list[tuple[str, list[str], bytes]]:
        return [item for item in self.received if subject.encode() in item[2]]


@contextmanager
def relay_domain(admin):
    """A relay domain whose mail goes to an in-test SMTP server; yields (domain, sink)."""
    sink, port = Sink(), free_ports(1)[0]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        name = f"{unique('far')}.test"
        assert admin.post("/admin/domains", {"name": name}).status_code == 302
        response = admin.post(f"/admin/domains/{name}", {"mode": "relay", "relay": f"127.0.0.1:{port}",
                                                          "bcc": "", "catch_all": ""})
        assert response.status_code == 302, response.get_data(as_text=True)
        yield name, sink
    finally:
        controller.stop()


def postfix_tool(cfg: dict, tool: str, *args: str) -> str:
    """Run one of Postfix's tools (postqueue, postsuper) on the stack's configuration."""
    etc = Path(cfg["STACK_DIR"]) / "etc" / "postfix"
    return subprocess.run([tool, "-c", str(etc), *args], capture_output=True, text=True, check=True,
                          timeout=30).stdout


def queued(cfg: dict, recipient: str) -> dict | None:
    """The queue entry (postqueue -j) of a message for RECIPIENT, if one waits."""
    for line in postfix_tool(cfg, "postqueue", "-j").splitlines():
        entry = json.loads(line)
        if any(r["address"] == recipient for r in entry["recipients"]):
            return entry
    return None


def backdate(cfg: dict, queue_id: str, seconds: int) -> None:
    """Make a deferred message look SECONDS older: its arrival and creation time records.

    On hold nobody touches the file; a queue file is a series of records: a type byte, a
    length in 7-bit groups (low first, high bit: more), the data.
    """
    postfix_tool(cfg, "postsuper", "-h", queue_id)
    path = Path(cfg["STACK_DIR"]) / "spool" / "postfix" / "hold" / queue_id
    data, pos, changed = bytearray(path.read_bytes()), 0, 0
    while pos < len(data):
        kind, length, shift = data[pos], 0, 0
        pos += 1
        while True:
            length |= (data[pos] & 0x7F) << shift
            shift, pos = shift + 7, pos + 1
            if not data[pos - 1] & 0x80:
                break
        text = bytes(data[pos:pos + length])
        digits = re.match(rb"(?:create_time=)?([0-9]{10})\b", text)
        if kind in (ord("T"), ord("c"), ord("A")) and digits:  # arrival, creation time
            older = str(int(digits.group(1)) - seconds).encode()
            data[pos + digits.start(1):pos + digits.end(1)] = older
            changed |= kind == ord("T")
        pos += length
    assert changed, "no arrival time record in the queue file"
    path.write_bytes(data)
    postfix_tool(cfg, "postsuper", "-H", queue_id)
