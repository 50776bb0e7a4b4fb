"""Secrets at rest: what the daemons' users can read holds no password or credential.

Postfix reads the database as its own user for every lookup; whatever it can open,
anyone who takes over a Postfix process reads too. Rspamd's controller needs to check
a password, not to know it.
"""
from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from core.models import Mailbox, WebSession
from tests.helpers import imap_login, new_address, post_login, submit, wait_for_subject
from tests.integration.secrets_support import world_readable_secrets

# Run as the postfix user: every file in the database's folder that it can open, as raw
# bytes (tables, free pages and the WAL alike), and every table of each one that SQLite
# opens read-only, as Postfix's sqlite client does.
READ_AS_POSTFIX = r"""
import json, pathlib, sqlite3, sys
found = {}
for path in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    try:
        found[path.name] = {"bytes": path.read_bytes().hex(), "rows": ""}
    except OSError:
        continue
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        found[path.name]["rows"] = repr([conn.execute(f'SELECT * FROM "{t}"').fetchall() for t in tables])
    except sqlite3.DatabaseError:
        pass
print(json.dumps(found))
"""


def readable_by_postfix(folder: Path) -> dict[str, dict]:
    """{file name: {"bytes": hex, "rows": repr}} of what user postfix can read in FOLDER."""
    done = subprocess.run(["runuser", "-u", "postfix", "--", "python3", "-c", READ_AS_POSTFIX,
                           str(folder)], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_files_postfix_reads_hold_no_password_hash_or_sealed_credential(
        app, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "atrest")
    post_login(app.test_client(), address)  # a web session: a sealed credential is stored
    with stack_db.factory() as session:
        hashed = session.query(Mailbox).filter_by(address=address).one().password_hash
        sealed = session.query(WebSession).filter_by(address=address).one().sealed_credential
    folder = Path(mail_stack["DATABASE_URL"].removeprefix("sqlite:///")).parent
    found = readable_by_postfix(folder)
    assert "mailroom.db" in found and address in found["mailroom.db"]["rows"]
    for name, content in found.items():
        raw = bytes.fromhex(content["bytes"])
        assert hashed.encode() not in raw and sealed not in raw, name
        assert hashed not in content["rows"] and sealed.decode() not in content["rows"], name
    # ... while mail is still delivered and the password still signs in.
    subject = f"at rest {uuid.uuid4().hex}"
    submit(mail_stack, address, address, subject)
    wait_for_subject(mail_stack, address, subject)
    imap_login(mail_stack, address).logout()


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


def test_no_rendered_config_that_holds_a_secret_is_world_readable(mail_stack):
    assert world_readable_secrets(mail_stack) == {}
