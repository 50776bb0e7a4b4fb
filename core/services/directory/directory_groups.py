"""Groups of the directory (MAILROOM_ACCOUNT_PROVIDER=ldap) as owners of shared mailboxes.

The directory keeps its groups and their members; Mailroom keeps only which directory
group owns which shared mailbox, by name (core/models/shared.py). Dovecot learns a
directory user's groups from the worker's file (stack/directory_groups.py), so who is in
a group is read live from the directory, within MAILROOM_LDAP_GROUPS_REFRESH seconds.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.config import uses_ldap
from core.ldapdir.people import DirectoryUnavailable, read_tree
from core.services.access.roles import Roles
from core.services.errors import InvalidInput


@dataclass(frozen=True)
class DirectoryGroup:
    """A directory group by its usable name, with its members' addresses."""

    name: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Offer:
    """The directory groups an admin may choose, or why none can be read ('' when read)."""

    groups: list[DirectoryGroup]
    problem: str = ""


def read_groups(cfg: dict) -> list[DirectoryGroup]:
    """Every directory group by name ([] without LDAP); DirectoryUnavailable when it fails."""
    if not uses_ldap(cfg):
        return []
    return [DirectoryGroup(name, tuple(members)) for name, members in sorted(read_tree(cfg).groups.items())]


def usable_by(found: list[DirectoryGroup], roles: Roles) -> list[DirectoryGroup]:
    """The groups of FOUND an admin with ROLES may make owners of a shared mailbox.

    As with Mailroom's groups (groups.usable_by): a domain admin only groups whose
    members all have addresses in their domains; an empty group only a server admin.
    """
    if roles.server:
        return list(found)
    return [g for g in found
            if g.members and all(roles.may_manage(m.partition("@")[2]) for m in g.members)]


def offer(cfg: dict, roles: Roles) -> Offer:
    """The directory groups ROLES may choose for the shared mailbox form."""
    try:
        return Offer(usable_by(read_groups(cfg), roles))
    except DirectoryUnavailable as exc:
        return Offer([], f"The directory's groups cannot be shown: {exc}.")


def chosen(cfg: dict, roles: Roles, names: list[str], current: list[str]) -> list[str]:
    """NAMES (lower case, once each) checked as directory owners; InvalidInput says why not.

    Only names not in CURRENT are looked up, so a shared mailbox stays editable while
    the directory is down as long as its directory owners stay as they are.
    """
    names = [n for n in dict.fromkeys(n.strip().lower() for n in names) if n]
    added = [n for n in names if n not in current]
    if not added:
        return names
    if not uses_ldap(cfg):
        raise InvalidInput("Mailroom reads no directory (MAILROOM_ACCOUNT_PROVIDER is not ldap): "
                           "choose Mailroom groups.")
    try:
        found = read_groups(cfg)
    except DirectoryUnavailable as exc:
        raise InvalidInput(f"The directory cannot be read now ({exc}): try again once it "
                           "answers.") from exc
    usable = {g.name for g in usable_by(found, roles)}
    known = {g.name: g for g in found}
    for name in added:
        if name not in known:
            raise InvalidInput(f"The directory has no group {name}.")
        if name not in usable:
            why = "has members outside your domains" if known[name].members else "is empty"
            raise InvalidInput(f"The directory group {name} {why}: ask a server admin to make "
                               "it an owner.")
    return names
