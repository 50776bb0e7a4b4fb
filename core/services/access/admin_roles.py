"""Admin roles: server admins, and domain admins of particular domains."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.models import DOMAIN_ADMIN, SERVER_ADMIN, AdminRole, Domain, Mailbox
from core.services.directory import lookup
from core.services.errors import AlreadyExists, InvalidInput, NotFound

from . import audit


def is_server_admin(db: Session, mailbox: Mailbox) -> bool:
    """Whether MAILBOX holds the server admin role."""
    return bool(db.scalar(select(AdminRole.id).where(
        AdminRole.mailbox_id == mailbox.id, AdminRole.role == SERVER_ADMIN)))


def set_server_admin(db: Session, actor: str, mailbox: Mailbox, grant: bool) -> None:
    """Give MAILBOX the server admin role, or take it away (never from the last one)."""
    held = is_server_admin(db, mailbox)
    if grant == held:
        return
    if grant:
        db.add(AdminRole(mailbox_id=mailbox.id, role=SERVER_ADMIN))
    else:
        count = db.scalar(select(func.count()).select_from(AdminRole)
                          .where(AdminRole.role == SERVER_ADMIN)) or 0
        if count <= 1:
            raise InvalidInput(_l('%(address)s is the only server admin: make someone else a '
                                  'server admin first.', address=mailbox.address))
        db.delete(db.scalar(select(AdminRole).where(
            AdminRole.mailbox_id == mailbox.id, AdminRole.role == SERVER_ADMIN)))
    db.flush()
    audit.record(db, actor, "update", "role", mailbox.address, domain=mailbox.domain.name,
                 before={"server_admin": held}, after={"server_admin": grant})


def admins_of(db: Session, domain: Domain) -> list[str]:
    """Addresses of DOMAIN's domain admins."""
    return list(db.scalars(
        select(Mailbox.address).join(AdminRole, AdminRole.mailbox_id == Mailbox.id)
        .where(AdminRole.role == DOMAIN_ADMIN, AdminRole.domain_id == domain.id)
        .order_by(Mailbox.address)))


def add_domain_admin(db: Session, actor: str, domain: Domain, address: str) -> None:
    """Let the mailbox at ADDRESS administer DOMAIN."""
    mailbox = lookup.get_mailbox(db, address)
    if mailbox.address in admins_of(db, domain):
        raise AlreadyExists(_l('%(address)s administers %(name)s already.',
                               address=mailbox.address, name=domain.name))
    db.add(AdminRole(mailbox_id=mailbox.id, role=DOMAIN_ADMIN, domain_id=domain.id))
    db.flush()
    audit.record(db, actor, "create", "role", mailbox.address, domain=domain.name,
                 after={"domain_admin": domain.name})


def remove_domain_admin(db: Session, actor: str, domain: Domain, address: str) -> None:
    """Take DOMAIN away from the domain admin at ADDRESS."""
    mailbox = lookup.get_mailbox(db, address)
    role = db.scalar(select(AdminRole).where(
        AdminRole.mailbox_id == mailbox.id, AdminRole.role == DOMAIN_ADMIN,
        AdminRole.domain_id == domain.id))
    if role is None:
        raise NotFound(_l('%(address)s does not administer %(name)s.',
                          address=mailbox.address, name=domain.name))
    db.delete(role)
    db.flush()
    audit.record(db, actor, "delete", "role", mailbox.address, domain=domain.name,
                 before={"domain_admin": domain.name})


