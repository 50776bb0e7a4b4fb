"""The web app as production runs it: `python app.py` as the unprivileged mailroom user,
on a port of its own, configured for the test stack (its secrets read from the stack's
files, never passed in the environment or argv)."""
from __future__ import annotations

import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Iterator

import pytest

from core.config import DEFAULTS, SECRET_KEYS
from stack.deploy import app_home
from tests.helpers import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def app_environment(cfg: dict, port: int, **settings: str) -> dict:
    """The environment of an app process on PORT: CFG's settings but its secrets, then SETTINGS."""
    env = {f"MAILROOM_{key}": str(cfg[key]) for key in DEFAULTS if key not in SECRET_KEYS}
    env.update(MAILROOM_ENV="production", MAILROOM_PORT=str(port), MAILROOM_HOST="127.0.0.1",
               PATH="/usr/sbin:/usr/bin:/sbin:/bin", LANG="C.UTF-8")
    env.update({f"MAILROOM_{key}": value for key, value in settings.items()})
    return env


@contextmanager
def served_app(cfg: dict, port: int, **settings: str) -> Iterator[tuple[subprocess.Popen, Path]]:
    """`python app.py` started as the mailroom user, answering on PORT; yields the
    process and the file its output goes to; stopped after.

    From the checkout, or from the copy stack/deploy.py makes when the checkout is
    private to root (as demo.sh does).
    """
    home = app_home(ROOT, Path(cfg["DATA_DIR"]))
    log_path = Path(cfg["DATA_DIR"]).parent / f"app-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(home / ".venv" / "bin" / "python"), "app.py"], cwd=home,
                                env=app_environment(cfg, port, **settings),
                                user="mailroom", group="mailroom", extra_groups=[],
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
                break
            except urllib.error.HTTPError:
                break  # it answers; whether every part is up is another test's question
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the app did not start as mailroom:\n"
                                + log_path.read_text(errors="replace"))
                time.sleep(0.2)
        yield proc, log_path
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def signed_in_opener(base: str, address: str, password: str = PASSWORD) -> urllib.request.OpenerDirector:
    """A urllib opener with a session of ADDRESS on the app served at BASE (its webmail)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    form = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    page = opener.open(base + "/login", urllib.parse.urlencode(
        {"address": address, "password": password, "csrf_token": token}).encode()).read().decode()
    assert 'data-count="messages"' in page, "sign-in failed"
    return opener
