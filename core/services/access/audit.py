"""The audit log: record every admin change and read it back with filters."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.models import AuditEntry

from .roles import Roles

KINDS = ("domain", "mailbox", "group", "alias", "shared", "role", "spam", "server", "directory", "api token")
ACTIONS = ("create", "update", "delete", "erase", "repair", "flush", "login", "revoke")
PAGE_SIZE = 50


def record(db: Session, actor: str, action: str, kind: str, target: str, *,
           domain: str | None = None, before: dict | None = None,
           after: dict | None = None) -> AuditEntry | None:
    """Add an entry in the caller's transaction; an update that changed nothing is not logged."""
    if action == "update" and before == after:
        return None
    entry = AuditEntry(
        actor=actor, action=action, kind=kind, target=target, domain=domain,
        before=_dump(before), after=_dump(after),
    )
    db.add(entry)
    return entry


def record_master_login(db: Session, address: str, master: str, protocol: str,
                        client: str) -> AuditEntry | None:
    """Record that MASTER logged in to ADDRESS's mailbox over PROTOCOL from CLIENT (the
    worker's auth policy server, on Dovecot's report)."""
    domain = address.rpartition("@")[2] or None
    return record(db, f"{master} (master user)", "login", "mailbox", address, domain=domain,
                  after={"protocol": protocol, "client": client})


def _dump(values: dict | None) -> str | None:
    return None if values is None else json.dumps(values, sort_keys=True, default=str)


@dataclass(frozen=True)
class Filters:
    """What the audit page asks for; empty strings mean "any"."""

    actor: str = ""
    kind: str = ""
    action: str = ""
    domain: str = ""
    text: str = ""
    days: int = 0


def shown(value: object) -> str:
    """A logged value as people read it: lists joined, yes/no, a dash for nothing."""
    if value is None or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {shown(v)}" for k, v in value.items())
    return str(value)


@dataclass(frozen=True)
class Change:
    """One field of an entry that differs, e.g. Change('quota_mb', 1024, 2048)."""

    field: str
    before: object
    after: object

    @property
    def shown_before(self) -> str:
        """The old value for the page."""
        return shown(self.before)

    @property
    def shown_after(self) -> str:
        """The new value for the page."""
        return shown(self.after)


@dataclass(frozen=True)
class Row:
    """An audit entry as the page shows it."""

    entry: AuditEntry
    changes: list[Change]


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, newest first."""

    rows: list[Row]
    total: int
    page: int

    @property
    def pages(self) -> int:
        """How many pages the filtered log has."""
        return max(1, -(-self.total // PAGE_SIZE))


def changes(entry: AuditEntry) -> list[Change]:
    """The fields an entry created, changed or removed."""
    before = json.loads(entry.before) if entry.before else {}
    after = json.loads(entry.after) if entry.after else {}
    keys = sorted(set(before) | set(after))
    return [Change(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def entries(db: Session, roles: Roles, filters: Filters, page: int = 1) -> AuditPage:
    """Entries visible under ROLES that match FILTERS; domain admins see their domains only."""
    query = select(AuditEntry)
    if not roles.server:
        query = query.where(AuditEntry.domain.in_(roles.domains))
    query = _filtered(query, filters)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, page)
    found = db.scalars(query.order_by(AuditEntry.id.desc())
                       .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))
    return AuditPage([Row(e, changes(e)) for e in found], total, page)


def _filtered(query, filters: Filters):
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor.strip().lower())
    if filters.kind in KINDS:
        query = query.where(AuditEntry.kind == filters.kind)
    if filters.action in ACTIONS:
        query = query.where(AuditEntry.action == filters.action)
    if filters.domain:
        query = query.where(AuditEntry.domain == filters.domain.strip().lower())
    if filters.text:
        text = filters.text.strip()
        query = query.where(or_(*(column.contains(text, autoescape=True) for column in (
            AuditEntry.target, AuditEntry.before, AuditEntry.after))))
    if filters.days > 0:
        since = datetime.now(timezone.utc) - timedelta(days=filters.days)
        query = query.where(AuditEntry.created_at >= since)
    return query


def actors(db: Session, roles: Roles) -> list[str]:
    """Everyone who appears in the log visible under ROLES (for the filter's choices)."""
    query = select(AuditEntry.actor).distinct().order_by(AuditEntry.actor)
    if not roles.server:
        query = query.where(AuditEntry.domain.in_(roles.domains))
    return list(db.scalars(query))
