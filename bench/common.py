"""Shared bits of the benchmarks: a throw-away stack, the app served by waitress."""
from __future__ import annotations

import contextlib
import logging
import re
import shutil
import socket
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from core.config import STACK_PORT_KEYS, load_config

# The compiled hyperscan files the test fixtures keep (tests/conftest.py): ~9 s of start-up saved.
HS_CACHE = Path("/var/tmp/mailroom-test-rspamd-cache")
HS_SUFFIXES = (".hs", ".hsmp", ".hsmc")
PORT_KEYS = STACK_PORT_KEYS


def sizes_and_logging(text: str) -> list[int]:
    """The folder sizes of a --sizes argument ("1000,100000"), with logging set up as the
    benchmarks log: warnings, and their own progress."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("bench").setLevel(logging.INFO)
    return sorted({int(s) for s in text.split(",") if s.strip()})


def free_ports(count: int) -> list[int]:
    """COUNT ports nothing listens on right now."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def scratch_overrides(root: Path | None = None, database: str = "sqlite") -> dict:
    """Config overrides for a stack in a new traversable temp dir on free ports, its
    directory on DATABASE (postgresql: the stack runs a PostgreSQL of its own)."""
    root = root or Path(tempfile.mkdtemp(prefix="mrb-", dir="/tmp"))
    root.chmod(0o755)
    return {"ENV": "testing", "DATA_DIR": str(root), "DATABASE": database,
            **dict(zip(PORT_KEYS, free_ports(len(PORT_KEYS))))}


def overrides_of(cfg: dict) -> dict:
    """The overrides scratch_overrides made for the stack CFG (to serve an app on it)."""
    return {key: cfg[key] for key in ("ENV", "DATA_DIR", "DATABASE", *PORT_KEYS)}


def config(overrides: dict) -> dict:
    """The full configuration for OVERRIDES."""
    return load_config(overrides)


def seed_rspamd_cache(cfg: dict) -> None:
    """Copy Rspamd's compiled hyperscan files into the new stack's DBDIR before `up`."""
    if not HS_CACHE.is_dir():
        return
    target = Path(cfg["STACK_DIR"]) / "lib" / "rspamd"
    target.mkdir(parents=True, exist_ok=True, mode=0o750)
    for path in HS_CACHE.iterdir():
        if path.suffix in HS_SUFFIXES and not (target / path.name).exists():
            shutil.copyfile(path, target / path.name)
            (target / path.name).chmod(0o644)


def database(cfg: dict):
    """The app's database of the stack CFG, for adding what a benchmark needs."""
    from core.db import Database

    found = Database()
    found.configure(cfg["DATABASE_URL"])
    return found


@contextlib.contextmanager
def scratch_stack(database: str = "sqlite"):
    """A fresh stack on free ports with its directory on DATABASE; yields its configuration,
    stops and deletes it afterwards."""
    from stack import manager

    overrides = scratch_overrides(database=database)
    cfg = config(overrides)
    seed_rspamd_cache(cfg)
    manager.up(cfg)
    cfg = config(overrides)  # now with the secrets `up` generated
    try:
        yield cfg
    finally:
        manager.down(cfg)
        shutil.rmtree(overrides["DATA_DIR"], ignore_errors=True)


class _Stay(urllib.request.HTTPRedirectHandler):
    """Follows no redirect: the redirect answer itself is returned."""

    def redirect_request(self, *args, **kwargs):
        return None


def sign_in(base: str, address: str, password: str, timed_landing: bool = False):
    """A cookie-keeping HTTP opener signed in to the app at BASE.

    TIMED_LANDING: also return the seconds the page the sign-in leads to took,
    (opener, seconds); that page is the first list of INBOX on the new session.
    """
    jar = urllib.request.HTTPCookieProcessor(CookieJar())
    opener = urllib.request.build_opener(jar)
    form = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"address": address, "password": password,
                                   "csrf_token": token}).encode()
    try:
        urllib.request.build_opener(jar, _Stay).open(base + "/login", data).read()
        raise RuntimeError(f"sign-in as {address} failed: no redirect")
    except urllib.error.HTTPError as exc:  # the 302 that _Stay does not follow
        landing = urllib.parse.urljoin(base, exc.headers["Location"])
    began = time.perf_counter()
    page = opener.open(landing).read().decode()
    seconds = time.perf_counter() - began
    if 'data-count="messages"' not in page:
        raise RuntimeError(f"sign-in as {address} failed")
    return (opener, seconds) if timed_landing else opener


def app_client(app, address: str, password: str):
    """A Flask test client of APP signed in as ADDRESS: the request path without HTTP."""
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = client.post("/login", data={"address": address, "password": password,
                                         "csrf_token": token})
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in as {address} failed ({answer.status_code})")
    return client


def sign_out(base: str, opener: urllib.request.OpenerDirector) -> None:
    """Sign the opener's session out, so the app logs its IMAP connections out too."""
    page = opener.open(base + "/").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    opener.open(base + "/logout", urllib.parse.urlencode({"csrf_token": token}).encode()).read()


@contextlib.contextmanager
def served(app):
    """Serve APP with waitress on a free port; yield its base URL."""
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()


def summary(samples: list[float]) -> str:
    """Median, min and max in milliseconds."""
    ms = [s * 1000 for s in samples]
    return f"median {statistics.median(ms):7.1f} ms   min {min(ms):7.1f}   max {max(ms):7.1f}   n={len(ms)}"
