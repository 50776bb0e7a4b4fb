"""Directory users (MAILROOM_ACCOUNT_PROVIDER=ldap): Mailroom's own settings for them,
the worker's record of who the directory had, and their orphaned mail folders.

Settings are keyed by the stable id (core/models/directory.py). Dovecot reads quota,
Junk retention and forwarding by that id (stack/templates/dovecot/directory); the domain-admin role
counts for whoever holds the id now, checked against the live directory.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import uses_ldap
from core.i18n import lazy_gettext as _l
from core.ldapdir import listing
from core.ldapdir.client import DirectoryUser
from core.ldapdir.people import DirectoryUnavailable
from core.models import AdminJob, DirectoryPerson, DirectorySettings, Mailbox
from core.models.base import utcnow
from core.models.jobs import QUEUED, RUNNING
from core.services.access import audit, roles
from core.services.errors import InvalidInput, NotFound
from core.services.personal import forwarding, holder
from core.services.server import jobs, mailstore

from . import mailboxes

log = logging.getLogger(__name__)


def folder_of(cfg: dict, directory_id: str) -> Path:
    """The mail folder Dovecot's LDAP userdb gives the id (dovecot-ldap.conf.ext)."""
    return mailstore.mail_root(cfg) / jobs.DIRECTORY / directory_id


def settings_of(db: Session, ids: list[str]) -> dict[str, DirectorySettings]:
    """The stored settings of IDS (ids without any are missing)."""
    if not ids:
        return {}
    rows = db.scalars(select(DirectorySettings).where(DirectorySettings.directory_id.in_(ids)))
    return {row.directory_id: row for row in rows}


def save_settings(db: Session, actor: str, user: DirectoryUser, quota_mb: int | None,
                  junk_days: int | None, domain_admin: bool | None,
                  forward: tuple[str, bool] = ("", True)) -> DirectorySettings:
    """Store USER's quota, Junk retention, forwarding (FORWARD: the target, '' for none,
    and whether to keep a copy) and (DOMAIN_ADMIN not None) domain-admin role."""
    row = holder.directory_row(db, user.id, create=True)
    before = _audited(row)
    row.quota_mb, row.junk_days = quota_mb, junk_days
    if domain_admin is not None:
        row.domain_admin = domain_admin
    forwarding.forward_row(db, row, user.address, forward[0] or None, forward[1])
    audit.record(db, actor, "update", "directory", user.address, domain=user.address.rpartition("@")[2],
                 before={**before, "id": user.id}, after={**_audited(row), "id": user.id})
    return row


def _audited(row: DirectorySettings) -> dict:
    return {"quota_mb": row.quota_mb, "junk_days": row.junk_days, "domain_admin": row.domain_admin,
            "forward_address": row.forward_address, "forward_keep_copy": row.forward_keep_copy}


def is_directory_user(db: Session, cfg: dict, address: str) -> bool:
    """Whether ADDRESS signs in as a directory user: with a directory, an address no
    mailbox of the database has (Dovecot asks the database's passdbs first)."""
    return uses_ldap(cfg) and db.scalar(select(Mailbox.id).where(Mailbox.address == address)) is None


def extra_addresses(db: Session, address: str) -> list[str]:
    """The extra addresses the directory gives the user at ADDRESS, as the worker last
    read them (at most a poll old); none when a database mailbox has ADDRESS (found first)."""
    if db.scalar(select(Mailbox.id).where(Mailbox.address == address)) is not None:
        return []
    found = db.scalar(select(DirectoryPerson.extra_addresses)
                      .where(DirectoryPerson.address == address, DirectoryPerson.present))
    return found.split() if found else []


def admin_candidate(db: Session, address: str) -> str | None:
    """The id the worker last saw at ADDRESS if it holds the domain-admin role, else None.

    The record may be up to a poll old: the caller confirms the id with the directory
    (a new person given a removed admin's address must not inherit the role)."""
    return db.scalar(select(DirectoryPerson.directory_id)
                     .join(DirectorySettings, DirectorySettings.directory_id == DirectoryPerson.directory_id)
                     .where(DirectoryPerson.address == address, DirectoryPerson.present,
                            DirectorySettings.domain_admin))


def record_read(db: Session, seen: dict[str, str], folders: set[str], size_of: Callable[[str], int],
                now: datetime | None = None, extras: dict[str, list[str]] | None = None) -> list[str]:
    """Record a complete read of the directory: SEEN maps each id to its address (EXTRAS:
    to its extra addresses); FOLDERS
    are the ids that have a mail folder. A folder whose id the directory no longer has is
    orphaned: its size is measured once (SIZE_OF). Rows of ids that are neither in the
    directory nor on disk stay, as the last holder of their address, but are not listed. An empty read changes nothing (a filter that
    matches nobody must not orphan everyone).

    An address that another person now holds, or that its holder was renamed from, is
    forgotten (returned, for the worker to set its address book aside): what Mailroom keeps
    by it (app passwords, second factor, sessions, tokens, waiting messages, webmail
    choices) was that person's, and Dovecot would take their app passwords for a newcomer.
    Mere absence forgets nothing (a person missing from one read cannot sign in meanwhile,
    and keeps their second factor), nor does a new person's first read (what they set up
    before it is theirs), the first read ever, or an address a database mailbox has."""
    if not seen:
        return []
    now = now or utcnow()
    rows = {row.directory_id: row for row in db.scalars(select(DirectoryPerson))}
    # Each address's last holder: the present one, else whoever had it last (rows of people
    # who left are kept, with their address, for this).
    held = {row.address: i for present in (False, True) for i, row in rows.items() if row.present == present}
    taken = {a for i, a in seen.items() if held.get(a) not in (None, i)}
    renamed = {row.address for i, row in rows.items() if row.present and i in seen and seen[i] != row.address}
    forgotten = sorted(a for a in taken | renamed
                       if a and not db.scalar(select(Mailbox.id).where(Mailbox.address == a)))
    for address in forgotten:
        mailboxes.forget_address(db, address)
        log.info("%s has a new holder in the directory: what was kept by it is deleted", address)
    for directory_id, address in seen.items():
        row = rows.get(directory_id)
        if row is None:
            row = rows[directory_id] = DirectoryPerson(directory_id=directory_id)
            db.add(row)
        row.address, row.last_seen, row.present, row.folder_bytes = address, now, True, None
        row.extra_addresses = " ".join((extras or {}).get(directory_id, ()))
    for directory_id in folders - set(seen):
        row = rows.get(directory_id)
        if row is None:  # a folder from before the worker kept a record: address unknown
            row = rows[directory_id] = DirectoryPerson(directory_id=directory_id, address="")
            db.add(row)
        row.present = False
        if row.folder_bytes is None:
            row.folder_bytes = size_of(directory_id)
    for directory_id, row in rows.items():
        if directory_id not in seen and directory_id not in folders:  # no folder (left): nothing to list
            row.present, row.folder_bytes = False, None
    db.flush()
    return forgotten


@dataclass(frozen=True)
class Orphan:
    """A mail folder whose person the directory no longer has."""

    directory_id: str
    address: str  # the last known address, '' when never recorded
    last_seen: datetime | None
    size: int
    pending: str  # "erase" or "archive" while such a job is queued, else ''


def orphans(db: Session, cfg: dict) -> list[Orphan]:
    """Every orphaned folder the worker found, by last known address."""
    rows = db.scalars(select(DirectoryPerson).where(~DirectoryPerson.present,
                                                    DirectoryPerson.folder_bytes.is_not(None)))
    pending = {job.path: job.kind for job in db.scalars(
        select(AdminJob).where(AdminJob.state.in_((QUEUED, RUNNING))))}
    found = [Orphan(row.directory_id, row.address, row.last_seen, row.folder_bytes or 0,
                    _pending_kind(pending.get(str(folder_of(cfg, row.directory_id)), "")))
             for row in rows]
    return sorted(found, key=lambda o: (o.address or "~", o.directory_id))


def _pending_kind(kind: str) -> str:
    return {"erase_mail": "erase", "archive_mail": "archive"}.get(kind, "")


def get_orphan(db: Session, cfg: dict, directory_id: str) -> Orphan:
    """The orphaned folder of DIRECTORY_ID; NotFound if there is none."""
    found = next((o for o in orphans(db, cfg) if o.directory_id == directory_id), None)
    if found is None:
        raise NotFound(_l("No orphaned mail folder has the id %(id)s.", id=repr(directory_id)))
    return found


def dispose(db: Session, cfg: dict, actor: str, orphan: Orphan, erase: bool) -> AdminJob:
    """Queue erasing ORPHAN's folder, or moving it to the archive of deleted mailboxes
    under its last known address (`mailbox archives`, `mailbox restore`); audited."""
    if orphan.pending:
        name = orphan.address or orphan.directory_id
        raise InvalidInput(_l("The folder of %(name)s is being erased already.", name=name)
                           if orphan.pending == "erase" else
                           _l("The folder of %(name)s is being archived already.", name=name))
    if not erase and not orphan.address:
        raise InvalidInput(_l("This folder's address was never recorded, so there is no name to "
                              "archive it under: it can only be erased."))
    target = orphan.address or orphan.directory_id
    return jobs.queue_mail_job(db, actor, target, orphan.address.rpartition("@")[2] or None,
                               folder_of(cfg, orphan.directory_id), erase)


def admin_domains(db: Session, cfg: dict, address: str) -> frozenset[str]:
    """The domain ADDRESS administers as a directory user: its own domain when the id that
    holds ADDRESS in the directory now has the domain-admin role; none while the
    directory cannot say (no rights are granted on a stale record)."""
    candidate = admin_candidate(db, address)
    if candidate is None:
        return frozenset()
    try:
        current = listing.address_id(cfg, address)
    except DirectoryUnavailable as exc:
        log.warning("directory admin role of %s not checked: %s", address, exc)
        return frozenset()
    return frozenset({address.rpartition("@")[2]}) if current == candidate else frozenset()


def roles_of(db: Session, cfg: dict, address: str) -> roles.Roles:
    """ADDRESS's admin roles: a mailbox's, and with a directory the domain role of the
    directory user who has ADDRESS now (admin_domains)."""
    held = roles.roles_of(db, address)
    if not uses_ldap(cfg):
        return held
    extra = admin_domains(db, cfg, address)
    return roles.Roles(held.server, held.domains | extra) if extra else held
