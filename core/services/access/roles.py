"""Who may administer what."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import DOMAIN_ADMIN, SERVER_ADMIN, AdminRole, Domain, Mailbox
from core.services.directory.lookup import get_mailbox


@dataclass(frozen=True)
class Roles:
    """A person's admin rights: the whole server, or a set of domain names."""

    server: bool = False
    domains: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        """True for a server admin or the admin of at least one domain."""
        return self.server or bool(self.domains)

    def may_manage(self, domain_name: str) -> bool:
        """True when these roles cover DOMAIN_NAME."""
        return self.server or domain_name in self.domains


def roles_of(db: Session, address: str) -> Roles:
    """The admin roles held by the mailbox at ADDRESS (none for unknown addresses)."""
    rows = db.execute(
        select(AdminRole.role, Domain.name)
        .join(Mailbox, AdminRole.mailbox_id == Mailbox.id)
        .outerjoin(Domain, AdminRole.domain_id == Domain.id)
        .where(Mailbox.address == address)
    ).all()
    server = any(role == SERVER_ADMIN for role, _ in rows)
    domains = frozenset(name for role, name in rows if role == DOMAIN_ADMIN and name)
    return Roles(server, domains)


def grant_server_admin(db: Session, address: str) -> AdminRole:
    """Make the mailbox at ADDRESS a server admin (idempotent)."""
    mailbox = get_mailbox(db, address)
    role = db.scalar(select(AdminRole).where(
        AdminRole.mailbox_id == mailbox.id, AdminRole.role == SERVER_ADMIN))
    if role is None:
        role = AdminRole(mailbox_id=mailbox.id, role=SERVER_ADMIN)
        db.add(role)
        db.flush()
    return role
