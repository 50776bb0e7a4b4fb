"""Secrets at rest: Rspamd's controller needs to check a password, not to know it."""
from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest


def controller(cfg: dict, path: str, password: str) -> int:
    """The HTTP status of Rspamd's controller for GET PATH with this Password header."""
    url = f"http://{cfg['LISTEN_ADDRESS']}:{cfg['RSPAMD_CONTROLLER_PORT']}{path}"
    request = urllib.request.Request(url, headers={"Password": password})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_rspamd_config_holds_only_a_hash_of_the_controller_password(mail_stack):
    password = mail_stack["RSPAMD_PASSWORD"]
    etc = Path(mail_stack["STACK_DIR"]) / "etc" / "rspamd"
    for path in etc.rglob("*"):
        if path.is_file():
            assert password not in path.read_text(encoding="utf-8"), path
    settings = (etc / "override.d" / "worker-controller.inc").read_text(encoding="utf-8")
    assert "password = '$1$" in settings and "enable_password = '$1$" in settings
    assert controller(mail_stack, "/stat", password) == 200
    assert controller(mail_stack, "/actions", password) == 200
    assert controller(mail_stack, "/stat", password[:-1] + "x") in (401, 403)


@pytest.mark.parametrize("length", [16, 64, 65, 200])
def test_rspamd_accepts_the_hash_of_any_password_length(length):
    """Checked by Rspamd's own code: `rspamadm lua` derives the key for the stored salt."""
    from stack.rspamd_password import hash_password, verify

    password = ("pw-" + uuid.uuid4().hex * 8)[:length]
    hashed = hash_password(password)
    assert verify(password, hashed) and not verify(password + "x", hashed)
    assert verify(password, rspamd_hash(password))


def rspamd_hash(password: str) -> str:
    """A PBKDF2-BLAKE2b hash of PASSWORD made by Rspamd itself (password through stdin)."""
    script = 'print(require("rspamd_cryptobox").pbkdf(io.read("*l"), "pbkdf2"))'
    done = subprocess.run(["rspamadm", "lua", "-e", script], input=password + "\n",
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip().splitlines()[-1]
