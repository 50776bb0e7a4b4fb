"""Session fixtures: one real mail stack on free ports, the app on it, a browser.

The stack is started once per test session in a temporary directory by the
project's own stack code, and stopped at the end.
"""
from __future__ import annotations

import os
import socket
import tempfile
import threading
from pathlib import Path

import pytest

from core.config import load_config
from core.db import Database

PORT_KEYS = ("IMAP_PORT", "POP3_PORT", "SIEVE_PORT", "SMTP_PORT", "SUBMISSION_PORT",
             "RSPAMD_PROXY_PORT", "RSPAMD_NORMAL_PORT", "RSPAMD_CONTROLLER_PORT", "REDIS_PORT")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_ports(count: int) -> list[int]:
    """COUNT distinct ports that nothing listens on right now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="session")
def mail_stack():
    """A running Postfix + Dovecot + Rspamd + Redis on free ports; yields the config."""
    from stack import manager

    # Short, traversable path: Unix socket paths are limited to 108 bytes and the
    # mail user must reach the Maildirs.
    root = Path(tempfile.mkdtemp(prefix="mr-", dir="/tmp"))
    root.chmod(0o755)
    overrides = {"ENV": "testing", "DATA_DIR": str(root), **dict(zip(PORT_KEYS, free_ports(len(PORT_KEYS))))}
    cfg = load_config(overrides)
    manager.up(cfg)
    cfg = load_config(overrides)  # now with the secrets `up` generated
    try:
        yield cfg
    finally:
        manager.down(cfg)


@pytest.fixture(scope="session")
def stack_db(mail_stack) -> Database:
    """The stack's database, for arranging test data through the service layer."""
    database = Database()
    database.configure(mail_stack["DATABASE_URL"])
    return database


@pytest.fixture(scope="session")
def domain(stack_db) -> str:
    """A local delivery domain on the stack."""
    from core.services import directory

    with stack_db.transaction() as session:
        directory.add_domain(session, "example.test")
    return "example.test"


@pytest.fixture(scope="session")
def app(mail_stack):
    """The Mailroom app configured for the test stack (tight sign-in limit)."""
    from app import create_app

    return create_app({**mail_stack, "ENV": "testing", "LOGIN_LIMIT_ADDRESS": "3 per minute"})


@pytest.fixture(scope="session")
def live_url(app):
    """The app served by waitress in a thread, as in production."""
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never Playwright's own download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page per test."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()
