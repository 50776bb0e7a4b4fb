"""The web app as production runs it: `python app.py` as the unprivileged mailroom user (issue 11).

What needs root (quotas from Dovecot's admin socket, the Sieve tester) must still work,
through the privileged helper; started as root, the app refuses.
"""
from __future__ import annotations

import os
import pwd
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest

from tests.conftest import free_ports
from tests.helpers import new_server_admin
from tests.integration.process_support import ROOT, app_environment, served_app, signed_in_opener


@pytest.fixture(scope="module")
def served_as_mailroom(mail_stack):
    """`python app.py` started as the mailroom user; yields (base URL, pid)."""
    port = free_ports(1)[0]
    with served_app(mail_stack, port) as (proc, _):
        yield f"http://127.0.0.1:{port}", proc.pid


def _uids(pid: int) -> list[int]:
    line = next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("Uid:"))
    return [int(v) for v in line.split()[1:]]


def test_served_process_is_not_root(served_as_mailroom):
    _, pid = served_as_mailroom
    assert _uids(pid) == [pwd.getpwnam("mailroom").pw_uid] * 4


def test_privileged_pages_work_through_the_helper(served_as_mailroom, mail_stack, stack_db, domain):
    base, _ = served_as_mailroom
    admin = new_server_admin(stack_db, domain, "unpriv")
    opener = signed_in_opener(base, admin)
    dashboard = opener.open(base + "/admin/").read().decode()  # quotas from Dovecot's admin socket
    assert admin in dashboard
    assert opener.open(base + "/healthz").status == 200


def test_started_as_root_the_app_refuses(mail_stack):
    env = app_environment(mail_stack, free_ports(1)[0], ALLOW_ROOT="")
    done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0 and "does not run as root" in done.stderr
    assert os.geteuid() == 0  # the suite runs as root, so this really was root


def test_every_page_without_arguments_answers_as_mailroom(served_as_mailroom, app, mail_stack,
                                                           stack_db, domain):
    """No page needs root: each GET route without URL arguments answers below 500."""
    base, _ = served_as_mailroom
    opener = signed_in_opener(base, new_server_admin(stack_db, domain, "walk"))
    paths = sorted({rule.rule for rule in app.url_map.iter_rules()
                    if "GET" in rule.methods and not rule.arguments
                    and rule.rule not in ("/logout", "/static")})
    broken = {}
    for path in paths:
        try:
            opener.open(base + path, timeout=60).read()
        except urllib.error.HTTPError as exc:
            if exc.code >= 500:
                broken[path] = exc.code
    assert len(paths) > 20 and not broken, broken
