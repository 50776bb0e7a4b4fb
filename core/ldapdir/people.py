"""The directory's people and groups as the app shows them and the stack grants rights.

One read takes every user (address, extra addresses, disabled or not, id) and every
group with its members' addresses. A member of the directory's `spamtrainers` trains
Rspamd like a member of Mailroom's, and a member of a directory group NAME gets the
rights of the shared mailboxes that directory group owns (Dovecot's acl_groups as
`ldap:NAME`, from stack/directory_groups.py's file; never those of Mailroom's group NAME).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ldap3.core.exceptions import LDAPException

from .client import SIMPLE_ALIAS, DirectoryUser, _all, _first, _search, _user, connect
from .presets import schema_from_config

GROUP_NAME_ATTR = "cn"  # groupOfNames and AD groups alike
# The names a Mailroom group may have (core/services/directory/groups.NAME): they go
# into Dovecot's comma-separated acl_groups, so anything else is left out.
USABLE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class DirectoryUnavailable(Exception):
    """The directory could not be read; says why."""


@dataclass(frozen=True)
class Person:
    """A directory user with the usable names of their groups."""

    user: DirectoryUser
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Tree:
    """Everyone the user filter finds (by address) and each group's member addresses."""

    people: list[Person]
    groups: dict[str, list[str]]

    def groups_of(self, address: str) -> tuple[str, ...]:
        """The usable group names of ADDRESS; () when they are not a directory user."""
        wanted = address.lower()
        return next((p.groups for p in self.people if p.user.address == wanted), ())


def read_tree(cfg: dict) -> Tree:
    """Read every user and group now; DirectoryUnavailable when the directory fails."""
    schema = schema_from_config(cfg)
    alias = SIMPLE_ALIAS.match(schema.alias_filter)
    attributes = [schema.mail_attr, schema.name_attr, schema.id_attr, *([alias.group(1)] if alias else [])]
    try:
        conn = connect(cfg)
    except LDAPException as exc:
        raise DirectoryUnavailable(f"the directory cannot be read: {exc}") from exc
    try:
        base = str(cfg["LDAP_USER_BASE"])
        entries = list(_search(conn, base, schema.users, attributes))
        disabled = {e["dn"].lower() for e in _search(conn, base, f"(&{schema.users}{schema.disabled_filter})", [])}
        groups = list(_search(conn, str(cfg["LDAP_GROUP_BASE"] or base), schema.group_filter,
                              [GROUP_NAME_ATTR, schema.member_attr]))
    except LDAPException as exc:
        raise DirectoryUnavailable(f"searching the directory failed: {exc}") from exc
    finally:
        conn.unbind()
    users = {e["dn"].lower(): _user(e, schema, alias, e["dn"].lower() not in disabled) for e in entries}
    members: dict[str, list[str]] = {}
    for group in groups:
        name = _first(group.get("attributes", {}), GROUP_NAME_ATTR).lower()
        if USABLE_NAME.match(name):
            found = (users.get(str(dn).lower()) for dn in _all(group["attributes"], schema.member_attr))
            members[name] = sorted({u.address for u in found if u and u.address})
    people = [Person(u, tuple(sorted(n for n, m in members.items() if u.address in m)))
              for u in sorted(users.values(), key=lambda u: u.address) if u.address]
    return Tree(people, members)
