"""The app's own view of the directory (ldap3): what `directory test`, `stack status` and
the admin dashboard report. The daemons do their own lookups (stack/ldap_maps.py) with
the same filters, so the users shown here are the users Dovecot and Postfix find.
"""
from __future__ import annotations

import re
import ssl
from dataclasses import asdict, dataclass, field

from ldap3 import Connection, Server, Tls
from ldap3.core.exceptions import (LDAPBindError, LDAPException, LDAPInvalidCredentialsResult,
                                   LDAPSocketOpenError)

from core.config import ldap_bind_password, ldap_url

from .presets import ADDRESS, Schema, SchemaError, schema_from_config

TIMEOUT = 5  # seconds to connect, and for each answer
SAMPLES = 3
PAGE = 500
# An alias filter of the form (attribute=prefix{address}): its attribute holds the
# extra addresses, each after PREFIX (proxyAddresses' "smtp:").
SIMPLE_ALIAS = re.compile(r"^\(([A-Za-z][A-Za-z0-9-]*)=([^()*]*)" + re.escape(ADDRESS) + r"\)$")


@dataclass(frozen=True)
class DirectoryUser:
    """A directory user as the daemons see them."""

    address: str
    name: str
    id: str  # names their mail folder: MAIL_ROOT/directory/<id>
    aliases: list[str]
    can_sign_in: bool


@dataclass(frozen=True)
class DirectoryReport:
    """What a check of the directory found; PROBLEM says what is wrong, '' when nothing is."""

    url: str
    schema: str
    problem: str = ""
    users: int = 0
    disabled: int = 0
    groups: int = 0
    samples: list[DirectoryUser] = field(default_factory=list)

    def as_json(self) -> dict:
        return {**asdict(self), "ok": not self.problem}


def connect(cfg: dict) -> Connection:
    """A connection bound as the service account; raises LDAPException (ldap3's) on failure."""
    url = ldap_url(cfg)
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(cfg.get("TLS_CA_FILE") or "") or None)
    server = Server(url, connect_timeout=TIMEOUT, tls=tls)
    conn = Connection(server, str(cfg["LDAP_BIND_DN"]), ldap_bind_password(cfg), receive_timeout=TIMEOUT,
                      raise_exceptions=True, read_only=True)
    conn.open()
    if url.startswith("ldap://") and cfg.get("LDAP_TLS") == "starttls":
        conn.start_tls()
    conn.bind()
    return conn


def check(cfg: dict, samples: int = SAMPLES) -> DirectoryReport:
    """Bind, count users (and disabled ones) and groups, and describe SAMPLES users."""
    url, name = ldap_url(cfg), str(cfg.get("LDAP_SCHEMA"))
    try:
        schema = schema_from_config(cfg)
    except SchemaError as exc:
        return DirectoryReport(url, name, str(exc))
    try:
        conn = connect(cfg)
    except LDAPInvalidCredentialsResult:
        return DirectoryReport(url, name, f"the directory refused the bind of MAILROOM_LDAP_BIND_DN "
                                          f"{cfg['LDAP_BIND_DN']!r}: wrong DN or password")
    except LDAPBindError as exc:
        return DirectoryReport(url, name, f"the directory refused the bind of MAILROOM_LDAP_BIND_DN "
                                          f"{cfg['LDAP_BIND_DN']!r}: {exc}")
    except LDAPSocketOpenError as exc:
        return DirectoryReport(url, name, f"the directory at {url} cannot be reached: {exc}")
    except LDAPException as exc:
        return DirectoryReport(url, name, f"the directory at {url} failed: {exc}")
    try:
        return _survey(conn, cfg, schema, url, samples)
    except LDAPException as exc:
        return DirectoryReport(url, name, f"searching the directory at {url} failed: {exc}")
    finally:
        conn.unbind()


def _survey(conn: Connection, cfg: dict, schema: Schema, url: str, samples: int) -> DirectoryReport:
    """The counts and samples over a bound connection."""
    base, name = str(cfg["LDAP_USER_BASE"]), str(cfg["LDAP_SCHEMA"])
    alias = SIMPLE_ALIAS.match(schema.alias_filter)
    attributes = [schema.mail_attr, schema.name_attr, schema.id_attr, *([alias.group(1)] if alias else [])]
    users = list(_search(conn, base, schema.users, attributes))
    if not users:
        return DirectoryReport(url, name, f"no user under MAILROOM_LDAP_USER_BASE {base!r} matches "
                                          f"{schema.users} (the user filter with an address)")
    disabled = {entry["dn"] for entry in _search(conn, base, f"(&{schema.users}{schema.disabled_filter})", [])}
    groups = sum(1 for _ in _search(conn, str(cfg["LDAP_GROUP_BASE"] or base), schema.group_filter, []))
    shown = [_user(entry, schema, alias, entry["dn"] not in disabled) for entry in users[:samples]]
    return DirectoryReport(url, name, "", len(users), len(disabled), groups, shown)


def _search(conn: Connection, base: str, query: str, attributes: list[str]):
    """Every entry under BASE matching QUERY, as ldap3's dicts (dn, attributes), page by page."""
    if not base:
        return
    yield from conn.extend.standard.paged_search(base, query, attributes=attributes or ["1.1"],
                                                 paged_size=PAGE, generator=True)


def _user(entry: dict, schema: Schema, alias, enabled: bool) -> DirectoryUser:
    """One entry as the daemons see it."""
    values = entry.get("attributes", {})
    address = _first(values, schema.mail_attr).lower()
    extra = []
    if alias:  # "smtp:" also matches AD's primary "SMTP:" value: that is the address itself
        prefix = alias.group(2).lower()
        extra = [str(v)[len(prefix):].lower() for v in _all(values, alias.group(1))
                 if str(v).lower().startswith(prefix) and str(v)[len(prefix):].lower() != address]
    return DirectoryUser(address, _first(values, schema.name_attr), _first(values, schema.id_attr),
                         extra, enabled)


def _all(values: dict, key: str) -> list:
    """An attribute's values as a list (ldap3 gives single-valued ones bare)."""
    value = values.get(key)
    return value if isinstance(value, list) else [] if value in (None, "") else [value]


def _first(values: dict, key: str) -> str:
    found = _all(values, key)
    return str(found[0]) if found else ""
