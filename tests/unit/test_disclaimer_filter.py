"""The filter's per-message decisions, against a loopback SMTP sink standing in for Postfix.

Every failure must be answered with a temporary code (Postfix then keeps the mail and
retries) unless Postfix itself refused permanently; the integration tests run the
real filter between real Postfix services.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller

from core.services.directory import disclaimers, lookup
from stack.filter import FilterConfig, read_config
from stack.filter.handler import TEMPFAIL, DisclaimerHandler, Envelope


class Sink:
    """Records what it receives; answers RCPT with a chosen reply."""

    def __init__(self) -> None:
        self.received: list = []
        self.rcpt_reply = "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        """Accept or refuse each recipient as configured."""
        if self.rcpt_reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_reply

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        """Keep the envelope and content."""
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos),
                               list(envelope.mail_options), envelope.content))
        return "250 queued"


def free_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sink():
    """A running sink on loopback; yields (Sink, port)."""
    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    yield handler, port
    controller.stop()


def make_handler(database, port: int) -> DisclaimerHandler:
    """A filter handler reinjecting to PORT and reading DATABASE."""
    config = FilterConfig("127.0.0.1", free_port(), port, "sqlite:////nonexistent",
                          Path("/nonexistent"), "nobody")
    return DisclaimerHandler(config, database, workers=1)


@pytest.fixture
def acme(database):
    """A domain acme.test with its disclaimer switched on."""
    with database.transaction() as session:
        lookup.add_domain(session, "acme.test")
        disclaimers.set_disclaimer(session, "acme.test", True, "**Confidential**", actor="t@acme.test")
    return database


RAW = b"From: a@acme.test\r\nSubject: hi\r\n\r\nBody\r\n"


def test_message_is_handed_back_with_the_disclaimer_and_its_envelope(acme, sink):
    recorder, port = sink
    handler = make_handler(acme, port)
    reply = handler.process(Envelope("a@acme.test", ("b@x.test", "c@x.test"),
                                     ("SIZE=40", "BODY=8BITMIME"), RAW))
    assert reply.startswith("250 ")
    [(sender, rcpts, options, content)] = recorder.received
    assert (sender, rcpts) == ("a@acme.test", ["b@x.test", "c@x.test"])
    assert "BODY=8BITMIME" in options and "SIZE=40" not in options
    assert b"X-Mailroom-Disclaimer: acme.test" in content and b"\r\nBody\r\n" in content


def test_other_domains_and_bounces_pass_unchanged(acme, sink):
    recorder, port = sink
    handler = make_handler(acme, port)
    # aiosmtpd gives the null sender of a bounce as "<>".
    assert handler.process(Envelope("<>", ("b@x.test",), (), RAW)).startswith("250 ")
    assert handler.process(Envelope("a@other.test", ("b@x.test",), (), RAW)).startswith("250 ")
    assert [item[3] for item in recorder.received] == [RAW, RAW]
    assert recorder.received[0][0] == "<>"


@pytest.mark.parametrize("rcpt_reply, expected", [
    ("550 5.1.1 no such user", "554 5.6.0"),
    ("452 4.3.1 insufficient storage", "451 4.3.0"),
])
def test_postfix_refusal_is_passed_on_permanent_only_when_permanent(acme, sink, rcpt_reply, expected):
    recorder, port = sink
    recorder.rcpt_reply = rcpt_reply
    reply = make_handler(acme, port).process(Envelope("a@acme.test", ("b@x.test",), (), RAW))
    assert reply.startswith(expected) and rcpt_reply.split(" ", 2)[2] in reply


def test_reinjection_port_down_defers(acme):
    reply = make_handler(acme, free_port()).process(Envelope("a@acme.test", ("b@x.test",), (), RAW))
    assert reply == TEMPFAIL


def test_database_unreadable_defers(tmp_path, sink):
    from core.db import Database

    broken = Database()
    broken.configure(f"sqlite:///{tmp_path / 'missing-dir' / 'none.db'}")
    reply = make_handler(broken, sink[1]).process(Envelope("a@acme.test", ("b@x.test",), (), RAW))
    assert reply == TEMPFAIL and not sink[0].received


def _run(coroutine):
    """Run COROUTINE to completion in a thread of its own.

    The browser tests' Playwright keeps an event loop in the main thread for the
    whole session, and asyncio.run refuses to start a second one there.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_only_postfix_on_the_listen_address_may_send(acme, sink):
    handler = make_handler(acme, sink[1])
    envelope = SimpleNamespace(mail_from=None, mail_options=[])
    outside = SimpleNamespace(peer=("127.0.0.61", 4000))
    inside = SimpleNamespace(peer=("127.0.0.1", 4000))
    refused = _run(handler.handle_MAIL(None, outside, envelope, "a@acme.test", []))
    assert refused.startswith("550") and envelope.mail_from is None
    accepted = _run(handler.handle_MAIL(None, inside, envelope, "a@acme.test",
                                        ["BODY=8BITMIME"]))
    assert accepted == "250 OK"
    assert envelope.mail_from == "a@acme.test" and envelope.mail_options == ["BODY=8BITMIME"]


def test_rendered_config_is_read_back(tmp_path):
    path = tmp_path / "filter.conf"
    path.write_text("[filter]\nlisten = 127.0.0.1\nport = 10026\nreinject_port = 10027\n"
                    "database_url = sqlite:////srv/m%d.db\npidfile = /run/f.pid\n"
                    "user = mailroom-filter\n")
    config = read_config(path)
    assert (config.port, config.reinject_port, config.user) == (10026, 10027, "mailroom-filter")
    assert config.database_url == "sqlite:////srv/m%d.db"
