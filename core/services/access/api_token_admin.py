"""Every person's API tokens as admins see them: a server admin all, a domain admin those
of their domains' people; either may revoke one (audited). The admin page
(portal/admin/api_tokens.py) and `flask api-tokens` (core/api_token_cli.py) call these.

As with mailboxes (portal/admin/access.py), a domain admin does not reach the tokens of
a person on their domain who holds an admin role beyond it: a server admin's, or another
domain's admin's.
"""
from __future__ import annotations

from sqlalchemy import Select, String, or_, select, type_coerce
from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.models import SERVER_ADMIN, AdminRole, ApiToken, Domain, Mailbox
from core.services.errors import InvalidInput, NotFound
from core.services.paging import Page, page_of

from . import api_tokens, audit
from .roles import Roles, roles_of


def _beyond(roles: Roles) -> Select:
    """The addresses holding an admin role that ROLES (a domain admin's) do not cover."""
    return (select(Mailbox.address).join(AdminRole, AdminRole.mailbox_id == Mailbox.id)
            .outerjoin(Domain, AdminRole.domain_id == Domain.id)
            .where(or_(AdminRole.role == SERVER_ADMIN, Domain.name.not_in(roles.domains))))


def query(roles: Roles) -> Select:
    """The tokens ROLES may see, newest first."""
    found = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if roles.server:
        return found
    address = type_coerce(ApiToken.address, String)  # as text: matched by its domain part
    return found.where(or_(*[address.endswith(f"@{name}", autoescape=True) for name in sorted(roles.domains)],
                           False), ApiToken.address.not_in(_beyond(roles)))


def page(db: Session, roles: Roles, number: int) -> Page:
    """Page NUMBER of the tokens ROLES may see."""
    return page_of(db, query(roles), number)


def every(db: Session, roles: Roles) -> list[ApiToken]:
    """All the tokens ROLES may see."""
    return list(db.scalars(query(roles)))


def get(db: Session, token_id: int) -> ApiToken:
    """Token TOKEN_ID; NotFound if there is none."""
    row = db.get(ApiToken, token_id)
    if row is None:
        raise NotFound(_l("There is no token %(id)s.", id=token_id))
    return row


def scope(db: Session, row: ApiToken, caller: Roles) -> str | None:
    """The domain ROW counts under for CALLER, or None (server admins only) when its owner
    holds an admin role beyond CALLER's domains."""
    held = roles_of(db, row.address)
    if held.server or not held.domains <= caller.domains:
        return None
    return row.address.rpartition("@")[2]


def revoke(db: Session, actor: str, row: ApiToken) -> None:
    """Revoke ROW for ACTOR, an admin, in the caller's transaction, with an audit record;
    InvalidInput when it no longer works anyway."""
    state = api_tokens.state(row)
    if state != "active":
        raise InvalidInput(_l("The token “%(name)s” of %(owner)s is %(state)s already.", name=row.name,
                              owner=row.address, state=STATES[state]))
    api_tokens.end(db, row)
    audit.record(db, actor, "revoke", "api token", f"{row.address}: {row.name}", domain=row.address.rpartition("@")[2],
                 before={"id": row.id, "scopes": row.scopes}, after=None)


STATES = {"active": _l("active"), "revoked": _l("revoked"), "expired": _l("expired")}


def as_json(row: ApiToken) -> dict:
    """A token as `api-tokens list --json` shows it (never its hash)."""
    return {"id": row.id, "owner": row.address, "name": row.name, "scopes": row.scopes.split(),
            "created": row.created_at.isoformat() if row.created_at else None,
            "last_used": row.last_used_at.isoformat() if row.last_used_at else None,
            "last_used_ip": row.last_used_ip, "expires": row.expires_at.isoformat() if row.expires_at else None,
            "state": api_tokens.state(row)}
