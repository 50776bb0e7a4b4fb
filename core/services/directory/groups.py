"""Groups of mailboxes: they own shared mailboxes, and `spamtrainers` limits Bayes training.

Dovecot learns a member's groups from the userdb (`acl_groups`) at each login, so a
membership change needs nothing else; a rename also rewrites the ACL entries of the
shared mailboxes the group owns (shared.apply_access, after the commit).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.i18n import lazy_gettext as _l
from core.models import Group, Mailbox, SharedMailbox
from core.services.access import audit
from core.services.access.roles import Roles
from core.services.errors import AlreadyExists, InvalidInput, NotFound

from . import lookup

# Group names go into Dovecot ACL entries (`group=NAME`) and the comma-separated
# acl_groups userdb field: no blanks, commas or `=`.
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
SPAMTRAINERS = "spamtrainers"


def valid_name(text: str) -> str:
    """TEXT as a group name (lower case); InvalidInput saying what is allowed otherwise."""
    name = (text or "").strip().lower()
    if not NAME.match(name):
        raise InvalidInput(_l('“%(text)s” cannot be a group name: use up to 64 letters a–z, '
                              'digits, dots, hyphens or underscores, starting with a letter or '
                              'digit.', text=text.strip()))
    return name


def snapshot(group: Group) -> dict:
    """What the audit log keeps of a group."""
    return {"name": group.name, "members": sorted(m.address for m in group.members)}


@dataclass(frozen=True)
class GroupRow:
    """A group with its members and the shared mailboxes it owns."""

    group: Group
    owns: list[str]


def get_group(db: Session, name: str) -> Group:
    """The group called NAME; NotFound otherwise."""
    group = db.scalar(select(Group).where(Group.name == (name or "").strip().lower()))
    if group is None:
        raise NotFound(_l('There is no group %(name)s.', name=name))
    return group


def owned_by(db: Session, group: Group) -> list[SharedMailbox]:
    """The shared mailboxes GROUP owns."""
    return list(db.scalars(select(SharedMailbox).where(SharedMailbox.owners.any(Group.id == group.id))
                           .order_by(SharedMailbox.address)))


def list_groups(db: Session) -> list[GroupRow]:
    """Every group by name, with members and owned shared mailboxes."""
    groups = db.scalars(select(Group).options(selectinload(Group.members)).order_by(Group.name))
    return [GroupRow(g, [s.address for s in owned_by(db, g)]) for g in groups]


def usable_by(db: Session, roles: Roles) -> list[Group]:
    """Groups an admin may make owners of a shared mailbox.

    A domain admin may pick only groups whose members all belong to their domains, so
    they cannot hand a mailbox of theirs to people they do not administer. An empty
    group is nobody's yet: only a server admin, who fills groups, may use it.
    """
    groups = list(db.scalars(select(Group).options(selectinload(Group.members)).order_by(Group.name)))
    if roles.server:
        return groups
    return [g for g in groups
            if g.members and all(roles.may_manage(m.domain.name) for m in g.members)]


def create_group(db: Session, actor: str, name: str) -> Group:
    """Create an empty group."""
    name = valid_name(name)
    if db.scalar(select(Group.id).where(Group.name == name)):
        raise AlreadyExists(_l('The group %(name)s exists already: choose another name.', name=name))
    group = Group(name=name)
    db.add(group)
    db.flush()
    audit.record(db, actor, "create", "group", name, after=snapshot(group))
    return group


def rename_group(db: Session, actor: str, group: Group, new_name: str) -> str:
    """Rename GROUP; return the old name (its shared mailboxes' ACLs need re-applying)."""
    new_name = valid_name(new_name)
    old = group.name
    if new_name == old:
        return old
    if db.scalar(select(Group.id).where(Group.name == new_name)):
        raise AlreadyExists(_l('The group %(new_name)s exists already: choose another name.',
                               new_name=new_name))
    before = snapshot(group)
    group.name = new_name
    db.flush()
    audit.record(db, actor, "update", "group", new_name, before=before, after=snapshot(group))
    return old


def delete_group(db: Session, actor: str, group: Group) -> None:
    """Delete GROUP unless it owns a shared mailbox."""
    owns = owned_by(db, group)
    if owns:
        raise InvalidInput(
            _l('The group %(name)s owns %(owns)s: give those shared mailboxes another owner, or '
               'delete them, first.', name=group.name, owns=', '.join(s.address for s in owns)))
    audit.record(db, actor, "delete", "group", group.name, before=snapshot(group))
    db.delete(group)
    db.flush()


def add_member(db: Session, actor: str, group: Group, address: str) -> Mailbox:
    """Add the mailbox at ADDRESS to GROUP."""
    mailbox = lookup.get_mailbox(db, address)
    if mailbox in group.members:
        raise AlreadyExists(_l('%(address)s is in %(name)s already.',
                               address=mailbox.address, name=group.name))
    before = snapshot(group)
    group.members.append(mailbox)
    db.flush()
    audit.record(db, actor, "update", "group", group.name, before=before, after=snapshot(group))
    return mailbox


def remove_member(db: Session, actor: str, group: Group, address: str) -> None:
    """Take the mailbox at ADDRESS out of GROUP."""
    mailbox = lookup.get_mailbox(db, address)
    if mailbox not in group.members:
        raise NotFound(_l('%(address)s is not in %(name)s.', address=mailbox.address, name=group.name))
    before = snapshot(group)
    group.members.remove(mailbox)
    db.flush()
    audit.record(db, actor, "update", "group", group.name, before=before, after=snapshot(group))


def names_of(db: Session, names: list[str]) -> list[Group]:
    """The groups called NAMES, in that order; NotFound names the first unknown one."""
    found = {g.name: g for g in db.scalars(select(Group).where(
        Group.name.in_([n.strip().lower() for n in names])))}
    missing = [n for n in names if n.strip().lower() not in found]
    if missing:
        raise NotFound(_l('There is no group %(missing)s: create it first.', missing=missing[0]))
    return [found[n.strip().lower()] for n in names]
