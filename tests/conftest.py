"""Session fixtures: one real mail stack on free ports, the app on it, a browser.

The stack is started once per test session in a temporary directory by the
project's own stack code, and stopped at the end.
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from core.config import STACK_PORT_KEYS, load_config
from core.db import Database

log = logging.getLogger(__name__)
PORT_KEYS = STACK_PORT_KEYS
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Rspamd compiles ~45 MB of hyperscan databases (~9 s of CPU) into a fresh DBDIR; sessions
# share them through this cache (files are named by a hash of what they compile).
HS_CACHE = Path(os.environ.get("MAILROOM_TEST_RSPAMD_CACHE", "/var/tmp/mailroom-test-rspamd-cache"))
HS_PATTERNS = ("*.hs", "*.hsmp", "*.hsmc")
FAULTS = Path(__file__).resolve().parent / "faults"
# Lock files of the ports handed out by free_ports, one per port: every test process on
# the machine (xdist workers, other checkouts' sessions) skips a port another one holds.
PORT_LOCKS = Path("/tmp/mailroom-test-ports")
_held_ports: list = []  # the locks' open files: a port stays ours until this process ends
# "gw0", "gw1", ... in a pytest-xdist worker; each worker runs its own stack.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def pytest_addoption(parser) -> None:
    parser.addoption("--database", choices=("sqlite", "postgresql"), default="sqlite",
                     help="the directory's database of each worker's stack: postgresql runs a local "
                          "PostgreSQL in it (stack/test.sh's second pass, on the tests marked directory)")


def pytest_collection_modifyitems(items: list) -> None:
    """Run tests/faults last, whatever the order of the paths given: they stop and start
    daemons of the session's stack, and a restart gone wrong must not spread to other tests."""
    items.sort(key=lambda item: item.path.parent == FAULTS)


def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist (`-n N`): each test file whole on one worker, in collection order.

    A file's tests share its module fixtures, and the files of tests/faults, sorted last,
    must come after every other file their worker's stack serves.
    """
    from xdist.scheduler import LoadFileScheduling

    config.option.loadscopereorder = False  # xdist's default: the most tests first
    return LoadFileScheduling(config, log)


def free_ports(count: int) -> list[int]:
    """COUNT distinct ports that nothing listens on right now, reserved for this process.

    Between choosing a port and a daemon listening on it, another test process (a
    parallel worker starting its own stack) could be handed the same port by the kernel;
    a lock file per port, held until this process ends, makes every other one skip it.
    """
    PORT_LOCKS.mkdir(exist_ok=True)
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        lock = open(PORT_LOCKS / str(port), "a", encoding="ascii")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # held by another process, or already ours
            lock.close()
            continue
        _held_ports.append(lock)
        ports.append(port)
    return ports


def copy_hyperscan(source: Path, target: Path) -> None:
    """Copy Rspamd's hyperscan cache files that TARGET does not have yet."""
    if not source.is_dir():
        return
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    for pattern in HS_PATTERNS:
        for path in source.glob(pattern):
            if not (target / path.name).exists():
                # Via a temporary name: a parallel session never reads half a file.
                partial = target / f".{path.name}.{os.getpid()}"
                shutil.copyfile(path, partial)
                partial.chmod(0o644)
                os.replace(partial, target / path.name)


def our_processes(cfg: dict) -> list:
    """Every live process of the stack (masters and their children), from its pid records."""
    from stack import procs
    from stack.layout import DAEMONS, Layout

    layout = Layout.from_config(cfg)
    found = []
    for name in DAEMONS:
        record = procs.read_record(layout.record(name))
        if record and record.alive():
            found.extend(procs.tree(record.pid))
    return found


@pytest.fixture(scope="session")
def stack_overrides(request):
    """Config overrides of the session's stack: a fresh 0755 temp dir, free ports and the
    database chosen by --database.

    The path stays short: Unix socket paths are limited to 108 bytes, and the mail
    user must be able to reach the Maildirs.
    """
    base = Path(tempfile.mkdtemp(prefix=f"mr-{WORKER}-", dir="/tmp"))
    base.chmod(0o755)
    # Send goes out at once (no seconds of Undo): tests/integration/test_scheduled.py turns
    # Undo on where it tests it.
    overrides = {"DATA_DIR": str(base / "data"), "ENV": "testing", "UNDO_SEND_SECONDS": 0,
                 "DATABASE": request.config.getoption("database")}
    overrides.update(zip(PORT_KEYS, free_ports(len(PORT_KEYS))))
    yield overrides
    if not os.environ.get("MAILROOM_KEEP_TEST_STACK"):
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def mail_stack(stack_overrides):
    """A running Postfix + Dovecot + Rspamd + Redis on free ports; yields the config."""
    from stack import down, up
    from stack.layout import Layout

    dbdir = Layout.from_config(load_config(stack_overrides, environ={})).lib / "rspamd"
    copy_hyperscan(HS_CACHE, dbdir)
    began = time.monotonic()
    for line in up(load_config(stack_overrides, environ={})):
        log.info("%s", line)
    log.info("stack up in %.1f s", time.monotonic() - began)
    cfg = load_config(stack_overrides, environ={})  # now with the secrets `up` generated
    try:
        yield cfg
    finally:
        family = our_processes(cfg)
        down(cfg)
        copy_hyperscan(dbdir, HS_CACHE)  # after the run: hs_helper compiles some lazily
        left = [r.pid for r in family if r.alive()]
        assert not left, f"processes left after down: {left}"


@pytest.fixture(scope="session")
def stack_db(mail_stack) -> Database:
    """The stack's database, for arranging test data through the service layer."""
    database = Database()
    database.configure(mail_stack["DATABASE_URL"])
    return database


@pytest.fixture(scope="session")
def domain(stack_db) -> str:
    """A local delivery domain on the stack."""
    from core.services.directory import lookup

    from core.services.errors import NotFound

    with stack_db.transaction() as session:
        try:
            lookup.get_domain(session, "example.test")
        except NotFound:
            lookup.add_domain(session, "example.test")
    return "example.test"


@pytest.fixture(scope="session")
def app(mail_stack):
    """The Mailroom app configured for the test stack (tight sign-in limit)."""
    from app import create_app
    from core.extensions import imap_pool

    yield create_app({**mail_stack, "ENV": "testing", "LOGIN_LIMIT_ADDRESS": "3 per minute"})
    imap_pool.close_all()  # before the stack goes down: its Dovecot serves them


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
def page(browser, request):
    """A fresh browser context and page per test, that fails the test on a console error.

    Any error in the console (Chromium logs every CSP violation there, those of the
    sandboxed mail frame included) or uncaught exception, in any page or frame of the
    context, fails the test at teardown, unless @pytest.mark.console_expected names
    that exact message ("{origin}" standing for the app's URL); a named message that
    never comes fails too, so the marker cannot outlive its reason. No
    `securitypolicyviolation` listener is injected: it could not run in the sandboxed
    frame (its blocked script is itself logged as an error) and would repeat what
    Chromium logs everywhere else.
    """
    context = browser.new_context()
    logged: list[tuple[str, str]] = []  # (message, where)
    context.on("console", lambda msg: logged.append((msg.text.strip(), msg.location["url"]))
               if msg.type == "error" else None)
    context.on("weberror", lambda err: logged.append(
        (f"Uncaught {err.error.name}: {err.error.message}", err.page.url if err.page else "")))
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()
    marker = request.node.get_closest_marker("console_expected")
    expected = {text.replace("{origin}", request.getfixturevalue("live_url"))
                for text in marker.args} if marker else set()
    unexpected = [f"{text}  (at {where})" for text, where in logged if text not in expected]
    unexpected += [f"expected, never logged: {text}" for text in expected - {t for t, _ in logged}]
    if unexpected:
        pytest.fail("errors in the browser console:\n" + "\n".join(unexpected), pytrace=False)
