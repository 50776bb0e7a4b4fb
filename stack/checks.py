"""The daemons' own configuration checkers, run before a configuration goes live.

`stack install --system` runs them on a whole scratch install (stack/sysinstall.py);
a server setting runs Postfix's and Dovecot's on scratch copies of their files before
the live ones change (`postfix_candidate`, `dovecot_candidate`). A refusal is a StackError in the daemon's own words.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import carddav
from .errors import StackError
from .layout import Layout
from .render import rendered

CHECK_TIMEOUT = 120


def postfix(config_dir: Path) -> tuple[str, list[str]]:
    """`postfix check` of CONFIG_DIR; it writes its findings only to a terminal: give it one."""
    return "Postfix", ["script", "-qec", f"postfix -c {shlex.quote(str(config_dir))} check", "/dev/null"]


def rspamd(local_confdir: Path) -> tuple[str, list[str]]:
    """`rspamadm configtest` of the packaged configuration with our local.d/override.d."""
    return "Rspamd", ["rspamadm", f"--var=LOCAL_CONFDIR={local_confdir}", "configtest", "-c",
                      "/etc/rspamd/rspamd.conf"]


def dovecot(config_file: Path) -> tuple[str, list[str]]:
    """`doveconf -n` of CONFIG_FILE: it parses every included file and names what it refuses."""
    return "Dovecot", ["doveconf", "-c", str(config_file), "-n"]


def radicale(config_file: Path) -> tuple[str, list[str]]:
    """Radicale loading CONFIG_FILE with its plugins (our login check) as the launcher would."""
    return "Radicale", ["env", f"PYTHONPATH={carddav.PLUGIN_PATH}", carddav.PYTHON, "-m",
                        "mailroom_carddav", "--check", str(config_file)]


def run(name: str, argv: list[str]) -> None:
    """Run one checker; StackError with its output if it refuses (Postfix: if it says anything)."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=CHECK_TIMEOUT,
                          check=False, stdin=subprocess.DEVNULL)
    output = (done.stdout + done.stderr).strip()
    if done.returncode or (name == "Postfix" and output):
        raise StackError(f"{name} refused the configuration; nothing was changed:\n{output}")


def postfix_candidate(cfg: dict, layout: Layout, rspamd_password: str) -> None:
    """Render Postfix's files as they would be now into a scratch directory and have
    `postfix check` read them; the live files are not touched."""
    scratch = Path(tempfile.mkdtemp(prefix="mailroom-postfix-check-"))
    try:
        for out, text in rendered(cfg, layout, rspamd_password, daemon="postfix"):
            target = scratch / out.target.relative_to(layout.postfix_etc)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        run(*postfix(scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def dovecot_candidate(cfg: dict, layout: Layout, rspamd_password: str) -> None:
    """Render Dovecot's files as they would be now into a scratch directory (dovecot.conf
    naming the scratch conf.d and SQL files) and have `doveconf` read them; the live files
    are not touched."""
    scratch = Path(tempfile.mkdtemp(prefix="mailroom-dovecot-check-"))
    etc = layout.dovecot_etc
    moved = {"conf_d": scratch / "conf.d", "sql_conf": scratch / "dovecot-sql.conf.ext",
             "passdb_conf": scratch / "dovecot-passdb.conf.ext",
             "directory_conf": scratch / "directory-ldap.conf", "ldap_conf": scratch / "dovecot-ldap.conf.ext",
             "directory_sql_conf": scratch / "dovecot-directory-sql.conf.ext",
             "apppass_conf": scratch / "dovecot-apppass.conf.ext"}
    try:
        for out, text in rendered(cfg, layout, rspamd_password, daemon="dovecot", overrides=moved):
            if out.target.is_relative_to(etc):  # not the IMAPSieve scripts elsewhere
                target = scratch / out.target.relative_to(etc)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        run(*dovecot(scratch / "dovecot.conf"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
