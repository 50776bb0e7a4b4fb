"""Any directory (issue 11): a clone below a private folder (0700, as /root is), in a folder
whose name has a space, works as it is.

Its data goes to /var/lib/mailroom/<instance>, the mail daemons run from there, and the
web app runs as mailroom from a synced copy; nobody is asked to loosen a permission.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from core.config import STACK_PORT_KEYS, default_data_dir
from tests.conftest import HS_CACHE, copy_hyperscan, free_ports

ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(".git", ".venv", "var", "__pycache__", ".pytest_cache")


def _flask(clone: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def private_clone():
    """A copy of this checkout at /tmp/mr-private-*/my project, the folder above it 0700."""
    top = Path(tempfile.mkdtemp(prefix="mr-private-", dir="/tmp"))
    clone = top / "my project"
    shutil.copytree(ROOT, clone, ignore=SKIP, symlinks=True)
    (clone / ".venv").symlink_to(Path(sys.prefix))
    env = {"PATH": f"{Path(sys.prefix) / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "MAILROOM_ENV": "production",
           **{f"MAILROOM_{key}": str(port) for key, port in zip(STACK_PORT_KEYS, free_ports(len(STACK_PORT_KEYS)))}}
    data = default_data_dir(clone)
    copy_hyperscan(HS_CACHE, data / "stack" / "lib" / "rspamd")
    try:
        yield clone, env, data
    finally:
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "stack", "down"], cwd=clone,
                       env=env, capture_output=True, timeout=120)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(top, ignore_errors=True)


def test_private_clone_runs_the_demo_stack_and_the_app_as_mailroom(private_clone):
    clone, env, data = private_clone
    assert os.stat(clone.parent).st_mode & 0o777 == 0o700
    assert data.parent == Path("/var/lib/mailroom") and data.name.startswith("my-project-")
    up = _flask(clone, env, "stack", "up")
    assert f"database and secrets in {data}" in up.stdout  # the command says where
    logins = json.loads(_flask(clone, env, "demo", "--json").stdout)["logins"]
    home = Path(_flask(clone, env, "stack", "app-home").stdout.strip())
    assert home == data / "app" and (home / "app.py").read_bytes() == (clone / "app.py").read_bytes()
    port = free_ports(1)[0]
    app_env = {**env, "MAILROOM_DATA_DIR": str(data), "MAILROOM_PORT": str(port)}
    proc = subprocess.Popen([str(home / ".venv" / "bin" / "python"), "app.py"], cwd=home, env=app_env,
                            user="mailroom", group="mailroom", extra_groups=[],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base + "/healthz", proc)
        person = next(l for l in logins if l["role"] != "admin")
        assert 'data-count="messages"' in _sign_in(base, person["address"], person["password"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_for(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            assert urllib.request.urlopen(url, timeout=5).status == 200
            return
        except (OSError, urllib.error.URLError):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the app did not start: " + proc.stdout.read().decode(errors="replace"))
            time.sleep(0.2)


def _sign_in(base: str, address: str, password: str) -> str:
    import re

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    form = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"address": address, "password": password, "csrf_token": token})
    return opener.open(base + "/login", data.encode()).read().decode()
