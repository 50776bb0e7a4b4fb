"""Shared mailboxes: owned by groups whose members get full rights through IMAP ACLs.

A shared mailbox is a userdb user nobody logs in as (Postfix delivers to it like to any
mailbox). Its folders carry vfile ACL entries `group=NAME` with every RFC 4314 right
(`group=ldap:NAME` for a directory group, directory_groups.py); members learn their
groups from the userdb's acl_groups, and Dovecot's shared
dictionary lists the mailbox under `shared/ADDRESS/` in their folder list. ACL changes
go through doveadm once the directory change is committed, because Dovecot reads the
database from its own processes.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.models import DELIVER, Domain, SharedDirectoryOwner, SharedMailbox
from core.services.access import audit
from core.services.access.roles import Roles
from core.services.errors import AlreadyExists, InvalidInput, NotFound
from core.services.server import mailstore

from . import directory_groups, groups, lookup, mailboxes

log = logging.getLogger(__name__)


def snapshot(shared: SharedMailbox) -> dict:
    """What the audit log keeps of a shared mailbox."""
    return {"address": shared.address, "display_name": shared.display_name,
            "owners": owner_names(shared), "directory_owners": directory_owner_names(shared)}


def owner_names(shared: SharedMailbox) -> list[str]:
    """The names of the Mailroom groups owning SHARED."""
    return sorted(g.name for g in shared.owners)


def directory_owner_names(shared: SharedMailbox) -> list[str]:
    """The names of the directory groups owning SHARED."""
    return [o.group_name for o in shared.directory_owners]


def owner_labels(shared: SharedMailbox) -> list[str]:
    """Every owner as a person reads it, e.g. ['sales', 'staff (directory)']."""
    return owner_names(shared) + [f"{n} (directory)" for n in directory_owner_names(shared)]


def get_shared(db: Session, address: str) -> SharedMailbox:
    """The shared mailbox at ADDRESS; NotFound otherwise."""
    shared = db.scalar(select(SharedMailbox).where(
        SharedMailbox.address == lookup.valid_address(address)))
    if shared is None:
        raise NotFound(f"There is no shared mailbox {address}.")
    return shared


def list_shared(db: Session, roles: Roles, domain: str = "") -> list[SharedMailbox]:
    """Shared mailboxes visible under ROLES, by address."""
    query = (select(SharedMailbox).join(Domain, SharedMailbox.domain_id == Domain.id)
             .options(selectinload(SharedMailbox.owners)).order_by(SharedMailbox.address))
    if not roles.server:
        query = query.where(Domain.name.in_(roles.domains))
    if domain:
        query = query.where(Domain.name == domain)
    return list(db.scalars(query))


def create_shared(db: Session, actor: str, roles: Roles, address: str, display_name: str,
                  owners: list[str], directory_owners: Sequence[str] | None = (),
                  cfg: dict | None = None) -> SharedMailbox:
    """Create a shared mailbox owned by the groups OWNERS and the directory's groups
    DIRECTORY_OWNERS (read with CFG; call after_create once committed)."""
    address = lookup.valid_address(address)
    local, _, domain_name = address.partition("@")
    domain = lookup.get_domain(db, domain_name)
    if domain.mode != DELIVER:
        raise InvalidInput(f"{domain.name} relays its mail elsewhere: a shared mailbox needs "
                           "a domain delivered here.")
    lookup.refuse_while_archiving(db, address)
    if lookup.address_in_use(db, address):
        raise AlreadyExists(f"The address {address} is in use already: choose another one.")
    shared = SharedMailbox(domain_id=domain.id, local_part=local, address=address,
                           display_name=display_name.strip())
    _set_owners(db, cfg, roles, shared, owners, directory_owners or ())
    db.add(shared)
    db.flush()
    audit.record(db, actor, "create", "shared", address, domain=domain.name, after=snapshot(shared))
    return shared


@dataclass(frozen=True)
class Before:
    """A shared mailbox's owners (ACL names) and readers before a change (to revoke what went)."""

    owners: list[str]
    readers: set[str]


def update_shared(db: Session, actor: str, roles: Roles, shared: SharedMailbox,
                  display_name: str, owners: list[str], directory_owners: Sequence[str] | None = None,
                  cfg: dict | None = None) -> Before:
    """Change the name and owners (DIRECTORY_OWNERS None: the directory groups stay); call
    after_update with the result once committed."""
    before = snapshot(shared)
    former = Before(shared.acl_owners(), readers(shared))
    shared.display_name = display_name.strip()
    if directory_owners is None:
        directory_owners = directory_owner_names(shared)
    _set_owners(db, cfg, roles, shared, owners, directory_owners)
    db.flush()
    audit.record(db, actor, "update", "shared", shared.address, domain=shared.domain.name,
                 before=before, after=snapshot(shared))
    return former


def _set_owners(db: Session, cfg: dict | None, roles: Roles, shared: SharedMailbox,
                names: list[str], directory_names: Sequence[str]) -> None:
    """Make SHARED owned by the Mailroom groups NAMES and the directory groups DIRECTORY_NAMES."""
    current = directory_owner_names(shared)
    directory_names = directory_groups.chosen(cfg or {}, roles, list(directory_names), current)
    shared.owners = _owners(db, roles, names, allow_none=bool(directory_names))
    kept = [o for o in shared.directory_owners if o.group_name in directory_names]
    shared.directory_owners = kept + [SharedDirectoryOwner(group_name=n) for n in directory_names
                                      if n not in current]


def _owners(db: Session, roles: Roles, names: list[str], allow_none: bool):
    names = [n for n in dict.fromkeys(n.strip().lower() for n in names) if n]
    if not names and not allow_none:
        raise InvalidInput("A shared mailbox needs at least one owning group: its members "
                           "are the people who can read it.")
    chosen = groups.names_of(db, names)
    allowed = {g.id for g in groups.usable_by(db, roles)}
    for group in chosen:
        if group.id not in allowed:
            why = "has members outside your domains" if group.members else "is empty"
            raise InvalidInput(f"The group {group.name} {why}: ask a server admin to make "
                               "it an owner.")
    return chosen


def delete_shared(db: Session, actor: str, shared: SharedMailbox, erase_mail: bool,
                  home: Path):
    """Remove SHARED from the directory (call revoke_access first); the mail stays unless erased."""
    return mailboxes.remove_from_directory(db, actor, "shared", shared, snapshot(shared),
                                           erase_mail, home)


def readers(shared: SharedMailbox) -> set[str]:
    """Addresses of everyone in one of SHARED's owning Mailroom groups (subscribed here; a
    directory group's members by the worker, after its next read of the directory)."""
    return {m.address for group in shared.owners for m in group.members}


def apply_access(cfg: dict, address: str, owners: list[str], dropped=(), subscribe=(),
                 unsubscribe=()) -> None:
    """Give OWNERS full rights on every folder of ADDRESS and take them from DROPPED.

    People in SUBSCRIBE get its folders in their subscriptions (so the webmail and
    most IMAP clients show them under "Shared" at once); UNSUBSCRIBE lose them. The
    privileged helper does it through Dovecot's admin socket (stack/shares.py).
    """
    mailstore.call(cfg, "shared_access", address=address, owners=list(owners),
                   dropped=sorted(dropped), subscribe=sorted(subscribe),
                   unsubscribe=sorted(unsubscribe))


def after_create(cfg: dict, shared: SharedMailbox) -> None:
    """Grant the owners' rights and subscribe their members (after the commit)."""
    apply_access(cfg, shared.address, shared.acl_owners(), subscribe=readers(shared))


def after_update(cfg: dict, shared: SharedMailbox, former: Before) -> None:
    """Make the ACLs and subscriptions follow a change of owners (after the commit)."""
    now = readers(shared)
    apply_access(cfg, shared.address, shared.acl_owners(), former.owners, subscribe=now,
                 unsubscribe=former.readers - now)


def after_membership(cfg: dict, db: Session, group, address: str) -> None:
    """Subscribe or unsubscribe ADDRESS after joining or leaving GROUP (after the commit)."""
    for box in groups.owned_by(db, group):
        inside = address in readers(box)
        apply_access(cfg, box.address, box.acl_owners(), subscribe=[address] if inside else [],
                     unsubscribe=[] if inside else [address])


def after_rename(cfg: dict, db: Session, group, old_name: str) -> None:
    """Rewrite the ACL entries of GROUP's shared mailboxes under its new name."""
    for box in groups.owned_by(db, group):
        apply_access(cfg, box.address, box.acl_owners(), {old_name})


def revoke_access(cfg: dict, shared: SharedMailbox) -> None:
    """Take every owner's rights away (before the shared mailbox is deleted)."""
    apply_access(cfg, shared.address, [], shared.acl_owners(), unsubscribe=readers(shared))


@dataclass(frozen=True)
class Repair:
    """A folder whose ACL disagreed with the database, e.g. ('desk@x', 'INBOX',
    ['user=bob@x lookup read'], ['group=staff admin create …'])."""

    address: str
    folder: str
    found: list[str]
    wanted: list[str]


def reconcile_access(cfg: dict, db: Session, actor: str) -> list[Repair]:
    """Make Dovecot's ACLs of every shared mailbox grant what the database says; the repairs.

    The grants above run after the commit, with nothing to retry a failure, and anyone
    with doveadm (or a member, with SETACL) can change an ACL; this puts the database's
    version back and records one audit entry per shared mailbox it repaired.
    """
    repairs = [Repair(**r) for r in mailstore.call(cfg, "reconcile_shares")]
    for address in dict.fromkeys(r.address for r in repairs):
        mine = [r for r in repairs if r.address == address]
        audit.record(db, actor, "repair", "shared", address, domain=address.partition("@")[2],
                     before={r.folder: r.found for r in mine}, after={r.folder: r.wanted for r in mine})
    return repairs


@dataclass(frozen=True)
class SharedFolder:
    """A folder a user shared from an IMAP client, e.g. ('ann@x', 'Projects', ['user=bob@x lr'])."""

    owner: str
    folder: str
    grants: list[str]


def shared_by_users(cfg: dict, db: Session, roles: Roles) -> list[SharedFolder]:
    """Folders that users shared with SETACL from any IMAP client (not the ones above)."""
    known = set(db.scalars(select(SharedMailbox.address)))
    return [SharedFolder(s["owner"], s["folder"], s["grants"]) for s in mailstore.call(cfg, "user_shares")
            if s["owner"] not in known and roles.may_manage(s["owner"].partition("@")[2])]
