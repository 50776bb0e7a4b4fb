"""A stack whose users also come from its own seeded slapd (MAILROOM_LDAP_URL=local)."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from ldap3 import Connection, Server

from core.config import LOCAL_LDAP_SUFFIX, ldap_url, load_config
from core.db import Database
from core.services.access import roles
from core.services.directory import lookup
from stack import secretfiles, slapd
from stack.layout import Layout
from tests.conftest import HS_CACHE, PORT_KEYS, copy_hyperscan, free_ports
from tests.helpers import PASSWORD

DOMAIN = slapd.SEED_DOMAIN


@pytest.fixture(scope="module")
def ldap_stack():
    """A stack with MAILROOM_ACCOUNT_PROVIDER=ldap on its own seeded directory, serving
    the seed's domain; yields its config."""
    from stack import down, up

    base = Path(tempfile.mkdtemp(prefix="mr-ldap-", dir="/tmp"))
    base.chmod(0o755)
    # The worker re-reads the directory's groups every 2 s (30 s by default), so a test
    # of a membership change waits seconds.
    overrides = {"DATA_DIR": str(base / "data"), "ENV": "testing", "ACCOUNT_PROVIDER": "ldap",
                 "LDAP_URL": "local", "LDAP_GROUPS_REFRESH": 2,
                 **dict(zip(PORT_KEYS, free_ports(len(PORT_KEYS))))}
    layout = Layout.from_config(load_config(overrides, environ={}))
    copy_hyperscan(HS_CACHE, layout.lib / "rspamd")
    try:
        list(up(load_config(overrides, environ={})))
        cfg = load_config(overrides, environ={})  # now with the generated passwords
        database = Database()
        database.configure(cfg["DATABASE_URL"])
        with database.transaction() as session:
            lookup.add_domain(session, DOMAIN)
        database.engine.dispose()
        yield cfg
    finally:
        lines = down(load_config(overrides, environ={}))
        assert "slapd: stopped" in lines
        shutil.rmtree(base, ignore_errors=True)


def seed_password(cfg: dict) -> str:
    """The seeded people's password."""
    return (Path(cfg["DATA_DIR"]) / "secrets" / secretfiles.LDAP_SEED_SECRET).read_text().strip()


def admin(cfg: dict) -> Connection:
    """A connection bound as the local directory's admin (it may change the tree)."""
    password = (Path(cfg["DATA_DIR"]) / "secrets" / secretfiles.LDAP_ADMIN_SECRET).read_text().strip()
    return Connection(Server(ldap_url(cfg)), slapd.ADMIN_DN, password, auto_bind=True)


def add_person(cfg: dict, uid: str, password: str) -> str:
    """Add the person UID (address UID@DOMAIN, PASSWORD) to the directory; return their DN."""
    dn = f"uid={uid},ou=people,{LOCAL_LDAP_SUFFIX}"
    with admin(cfg) as conn:
        assert conn.add(dn, ["inetOrgPerson"], {"uid": uid, "cn": uid, "sn": uid, "mail": f"{uid}@{DOMAIN}",
                                                "userPassword": password}), conn.result
    return dn


def entry_uuid(cfg: dict, uid: str) -> str:
    """The stable id of the seeded person UID."""
    with admin(cfg) as conn:
        conn.search(f"ou=people,{LOCAL_LDAP_SUFFIX}", f"(uid={uid})", attributes=["entryUUID"])
        return str(conn.entries[0].entryUUID)


def doveadm_quota_kb(cfg: dict, address: str) -> str:
    """The STORAGE limit (KiB) Dovecot applies to ADDRESS (`doveadm quota get`)."""
    out = subprocess.run(["doveadm", "-c", str(Layout.from_config(cfg).dovecot_conf), "quota", "get", "-u", address],
                         capture_output=True, text=True, check=True).stdout
    return re.search(r"STORAGE\s+\d+\s+(\S+)", out).group(1)


def new_local_mailbox(cfg: dict, prefix: str) -> str:
    """A new mailbox in the database (password PASSWORD) beside the directory; a server
    admin when PREFIX is 'admin'."""
    address = f"{prefix}-{uuid.uuid4().hex[:6]}@{DOMAIN}"
    database = Database()
    database.configure(cfg["DATABASE_URL"])
    with database.transaction() as session:
        lookup.add_mailbox(session, address, PASSWORD)
        if prefix == "admin":
            roles.grant_server_admin(session, address)
    database.engine.dispose()
    return address
