"""Secrets of the local stack, generated once into DATA_DIR/secrets.

The folder and the files are root's, readable by the web app's group only (0750 and
0640): the app signs its cookies with the secret key and talks to Rspamd's controller
with its password. Nobody else on the machine reads them. Rspamd's own configuration
holds only a hash of its controller password, kept here too (root's alone), and so is
the privileged helper's sealing key (server secrets such as the smarthost's password).
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
from pathlib import Path

from . import perms, rspamd_password as controller
from .errors import StackError
from .files import write_file
from .layout import Layout

log = logging.getLogger(__name__)
# token_urlsafe(48) is 64 characters of [A-Za-z0-9_-].
SECRET_BYTES = 48
NAMES = ("secret_key", "rspamd_password", "redis_password", "auth_policy_key", "web_auth_key",
         "carddav_key")
RSPAMD_HASH = "rspamd_password.hash"
SEALING_KEY = "sealing_key"


def ensure_secrets(layout: Layout) -> list[str]:
    """Create each missing secret file; return the names created."""
    perms.ensure_dir(layout.secrets, 0o750, None, perms.APP_USER)
    created = []
    for name in NAMES:
        if _create(layout.secrets / name):
            created.append(name)
            log.info("generated %s", layout.secrets / name)
        perms.set_owner(layout.secrets / name, 0o640, None, perms.APP_USER)
    return created


def _create(path: Path) -> bool:
    """Write a new random secret to PATH unless it exists (O_EXCL: never overwritten)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(SECRET_BYTES) + "\n")
    return True


def rspamd_password(cfg: dict, layout: Layout) -> str:
    """The Rspamd controller password: the configured one, else the generated file's."""
    return _secret(cfg, layout, "rspamd_password")


def rspamd_password_hash(layout: Layout, password: str) -> str:
    """PASSWORD hashed for Rspamd's controller: the hash kept from an earlier run while it
    still matches (the rendered file then stays the same), else a new one, kept."""
    kept = layout.secrets / RSPAMD_HASH
    try:
        hashed = kept.read_text(encoding="ascii").strip()
    except (OSError, UnicodeError):
        hashed = ""
    if not controller.verify(password, hashed):
        hashed = controller.hash_password(password)
        write_file(kept, hashed + "\n", 0o600)
    return hashed


def redis_password(cfg: dict, layout: Layout) -> str:
    """Redis's requirepass: the configured one, else the generated file's."""
    return _secret(cfg, layout, "redis_password")


def auth_policy_key(cfg: dict, layout: Layout) -> str:
    """The key Dovecot presents to the worker's auth policy server (the generated file's)."""
    return _secret(cfg, layout, "auth_policy_key")


def web_auth_key(cfg: dict, layout: Layout) -> str:
    """The key the web app sends Dovecot to check a main password of a person with
    two-factor sign-in (stack/templates/dovecot/dovecot-passdb.conf.ext)."""
    return _secret(cfg, layout, "web_auth_key")


def carddav_key(cfg: dict, layout: Layout) -> str:
    """The key the webmail signs its CardDAV logins with, checked by Radicale's auth plugin
    (stack/carddav/mailroom_carddav/token.py)."""
    return _secret(cfg, layout, "carddav_key")


def _secret(cfg: dict, layout: Layout, name: str) -> str:
    value = str(cfg.get(name.upper()) or "")
    if not value:
        try:
            value = (layout.secrets / name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise StackError(f"cannot read the {name.replace('_', ' ')}: {exc}") from exc
    if len(value) < 16:
        raise StackError(f"MAILROOM_{name.upper()} is too short: use at least 16 characters")
    return value


def postgres_passwords(cfg: dict, layout: Layout) -> dict[str, str]:
    """The daemons' PostgreSQL roles and their passwords (none on SQLite), made when missing."""
    from .pgsql import SECRET_FILES, is_postgresql

    if not is_postgresql(cfg):
        return {}
    for name in SECRET_FILES.values():
        if _create(layout.secrets / name):
            log.info("generated %s", layout.secrets / name)
    return {role: _secret(cfg, layout, name) for role, name in SECRET_FILES.items()}


def local_postgres_password(layout: Layout) -> str:
    """The password of the app's role on the local PostgreSQL, made when missing."""
    from core.config import LOCAL_POSTGRES_SECRET

    perms.ensure_dir(layout.secrets, 0o750, None, perms.APP_USER)
    path = layout.secrets / LOCAL_POSTGRES_SECRET
    if _create(path):
        log.info("generated %s", path)
    perms.set_owner(path, 0o640, None, perms.APP_USER)  # the app reads it (core/config.py)
    return path.read_text(encoding="utf-8").strip()


LDAP_ADMIN_SECRET, LDAP_SEED_SECRET = "ldap_admin_password", "ldap_seed_password"


def ldap_passwords(layout: Layout) -> dict[str, str]:
    """The local directory's passwords (stack/slapd.py), made when missing: its admin's and
    seeded people's (root's alone) and the read-only account's (the app binds with it too,
    as MAILROOM_LDAP_BIND_PASSWORD's default file)."""
    from core.config import LOCAL_LDAP_SECRET

    perms.ensure_dir(layout.secrets, 0o750, None, perms.APP_USER)
    found = {}
    for key, name, group in (("admin", LDAP_ADMIN_SECRET, None), ("seed", LDAP_SEED_SECRET, None),
                             ("bind", LOCAL_LDAP_SECRET, perms.APP_USER)):
        if _create(layout.secrets / name):
            log.info("generated %s", layout.secrets / name)
        perms.set_owner(layout.secrets / name, 0o640 if group else 0o600, None, group)
        found[key] = (layout.secrets / name).read_text(encoding="utf-8").strip()
    return found


def sealing_key(layout: Layout, create: bool = False) -> str | None:
    """The key (Fernet, core/vault.py) with which the privileged helper seals server
    secrets: root's alone (0600), so the web app stores sealed blobs it cannot open.
    Created when CREATE and missing; None when missing. Backed up with the other secrets."""
    path = layout.secrets / SEALING_KEY
    if create:
        perms.ensure_dir(layout.secrets, 0o750, None, perms.APP_USER)
        if _create(path):
            log.info("generated %s", path)
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    perms.set_owner(path, 0o600)
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()).decode("ascii")


def seal_fields(layout: Layout, fields: dict) -> str:
    """FIELDS (JSON) sealed with the helper's key, created the first time; the blob as text."""
    from core.vault import seal

    return seal(sealing_key(layout, create=True), json.dumps(fields)).decode("ascii")


def unseal_fields(layout: Layout, sealed: bytes) -> dict:
    """The fields seal_fields() sealed; VaultError when the key is missing or does not fit."""
    from core.vault import VaultError, unseal

    key = sealing_key(layout)
    if key is None:
        raise VaultError(f"there is no sealing key {layout.secrets / SEALING_KEY}")
    try:
        found = json.loads(unseal(key, sealed))
    except ValueError as exc:
        raise VaultError("the sealed blob holds no fields") from exc
    if not isinstance(found, dict):
        raise VaultError("the sealed blob holds no fields")
    return found
