"""The local stack's own directory: Debian's slapd on one loopback port (MAILROOM_LDAP_URL=local).

For tests and the demo, like stack/postgres.py for PostgreSQL: an old-style slapd.conf
and an MDB database in STACK_DIR/lib/ldap, seeded once from templates/slapd/seed.ldif
with `slapadd`, then `slapd -f CONF -h ldap://HOST:PORT/` as the `openldap` user. No
systemd and nothing under /etc/ldap: the Debian package is installed with no
configuration of its own (install.PRESEED) and policy-rc.d keeps it from starting one.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import subprocess
from pathlib import Path

from core.config import LOCAL_LDAP_BIND_DN, LOCAL_LDAP_SUFFIX, ldap_url

from . import daemons, perms, secretfiles
from .daemons import Daemon
from .errors import StackError
from .files import TEMPLATES, write_file
from .layout import Layout
from .quoting import render_text

log = logging.getLogger(__name__)
NAME = "slapd"
USER = "openldap"  # Debian's slapd user
ADMIN_DN = f"cn=admin,{LOCAL_LDAP_SUFFIX}"
SEED_DOMAIN = "example.test"  # the seeded people's addresses (the demo's domain)


def root(layout: Layout) -> Path:
    """The directory's folder: its slapd.conf, database and pidfile."""
    return layout.lib / "ldap"


def config_file(layout: Layout) -> Path:
    return root(layout) / "slapd.conf"


def spec(cfg: dict, layout: Layout) -> Daemon:
    """How the stack starts its slapd (it daemonizes and writes its pidfile)."""
    return Daemon(NAME, ("slapd", "-f", str(config_file(layout)), "-h", ldap_url(cfg) + "/",
                         "-u", USER, "-g", USER),
                  root(layout) / "run" / "slapd.pid", reload_signal=None)


def ssha(password: str) -> str:
    """PASSWORD as an LDAP {SSHA} hash (RFC 2307 style: SHA-1 of password + salt, salt appended)."""
    salt = os.urandom(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()


def _values(layout: Layout) -> dict:
    """The templates' values; the passwords only as hashes."""
    passwords = secretfiles.ldap_passwords(layout)
    base = root(layout)
    return {"slapd_pidfile": base / "run" / "slapd.pid", "slapd_argsfile": base / "run" / "slapd.args",
            "slapd_db": base / "db", "ldap_suffix": LOCAL_LDAP_SUFFIX, "ldap_admin_dn": ADMIN_DN,
            "ldap_bind_dn": LOCAL_LDAP_BIND_DN, "ldap_seed_domain": SEED_DOMAIN,
            **{f"ldap_{key}_hash": ssha(value) for key, value in passwords.items()}}


def _render(name: str, values: dict, syntax: str) -> str:
    return render_text((TEMPLATES / "slapd" / name).read_text(encoding="utf-8"), values, syntax)


def init(layout: Layout) -> bool:
    """Write the configuration and seed the database unless it exists; True if seeded now."""
    base = root(layout)
    if (base / "db" / "data.mdb").exists():
        return False
    values = _values(layout)
    perms.ensure_dir(base, 0o750, None, USER)
    for sub in ("db", "run"):
        perms.ensure_dir(base / sub, 0o700, USER)
    # The admin's and the service account's hashes: readable by slapd's group only.
    write_file(config_file(layout), _render("slapd.conf", values, "slapd"), 0o640, USER)
    seeded = subprocess.run(["slapadd", "-f", str(config_file(layout))], input=_render("seed.ldif", values, "ldif"),
                            capture_output=True, text=True, timeout=60, check=False, user=USER,
                            group=USER, extra_groups=[], cwd="/", env=daemons.ENV)
    if seeded.returncode:
        raise StackError(f"slapadd could not seed the directory: {(seeded.stdout + seeded.stderr).strip()[-2000:]}")
    log.info("LDAP directory seeded in %s", base)
    return True


def ensure_local(cfg: dict, layout: Layout) -> list[str]:
    """Create and start the local directory as needed; return lines to show."""
    lines = [f"slapd: directory seeded in {root(layout)}"] if init(layout) else []
    if daemons.running(layout, NAME):
        return lines + [f"slapd: already running (pid {daemons.running(layout, NAME).pid})"]
    record = daemons.start(layout, spec(cfg, layout))
    host, port = str(cfg["LISTEN_ADDRESS"]), int(cfg["LDAP_PORT"])
    if not daemons.wait_answers(host, port):
        raise StackError(f"slapd did not open {host}:{port}; see {layout.log_file(NAME)}")
    return lines + [f"slapd: started (pid {record.pid}) on {host}:{port}"]


def stop(layout: Layout) -> str:
    """Stop the local directory if it runs."""
    return f"slapd: {'stopped' if daemons.stop(layout, NAME) else 'not running'}"
