"""Forwarding all mail: the forward_address / forward_keep_copy columns of the person's
row (a mailbox's, or a directory user's by stable id: holder.py).

The portal and the admin pages set the same two columns. Dovecot's userdb hands them
to the server's before-script 20-mailroom-forward.sieve (stack/templates/sieve), which
redirects every delivered message, keeping a copy or not; no reload is needed.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.models import TO_MAILBOX, Alias, AliasDestination, DirectoryPerson, DirectorySettings, Domain, Mailbox
from core.services.directory import aliases

from .holder import settings_row
from .validation import InvalidField, address

MAX_HOPS = 10


@dataclass(frozen=True)
class Forwarding:
    """Where all mail goes, e.g. Forwarding('me@elsewhere.test', keep_copy=False)."""

    target: str | None
    keep_copy: bool = True


def get_forwarding(db: Session, owner: str, cfg: dict | None = None) -> Forwarding:
    """The forwarding of OWNER (CFG: a directory user's too)."""
    row = settings_row(db, owner, cfg)
    return Forwarding(row.forward_address, row.forward_keep_copy)


def set_forwarding(db: Session, owner: str, target: str | None, keep_copy: bool,
                   cfg: dict | None = None) -> Forwarding:
    """Forward OWNER's mail to TARGET (None: stop forwarding); loops are refused."""
    return forward_row(db, settings_row(db, owner, cfg, create=True), owner, target, keep_copy)


def forward_row(db: Session, row: Mailbox | DirectorySettings, owner: str, target: str | None,
                keep_copy: bool) -> Forwarding:
    """Set the forwarding kept in ROW, the settings of the person at OWNER."""
    if target is None or not target.strip():
        row.forward_address, row.forward_keep_copy = None, True
        db.flush()
        return Forwarding(None, True)
    normal = address("target", target, _l("The forwarding address"))
    _refuse_loop(db, owner, normal)
    if aliases.local_only_alias(db, normal):
        raise InvalidField("target", aliases.LOCAL_ONLY_TEXT.format(
            target=normal, what=_l("forwarding to it"), what_short=_l("your forwarding")))
    row.forward_address, row.forward_keep_copy = normal, keep_copy
    db.flush()
    return Forwarding(normal, keep_copy)


def _refuse_loop(db: Session, owner: str, target: str) -> None:
    """InvalidField when mail sent on to TARGET would come back to OWNER."""
    if target == owner:
        raise InvalidField("target", _l("Forwarding to your own address would loop."))
    path = [target]
    for _ in range(MAX_HOPS):
        if _alias_reaches(db, path[-1], owner):
            raise InvalidField("target", _l('Forwarding to %(target)s would loop: %(path)s '
                                            'delivers to you.', target=target, path=path[-1]))
        following = _forward_of(db, path[-1])
        if following == owner:
            raise InvalidField("target", _l('Forwarding to %(target)s would loop: %(path)s '
                                            'forwards its mail to you.', target=target, path=path[-1]))
        if not following or following in path:
            return
        path.append(following)


def _forward_of(db: Session, who: str) -> str | None:
    """Where WHO's mail is forwarded: a mailbox's, or a directory user's as the worker
    last saw their address (stack/worker/directory_people.py)."""
    found = db.scalar(select(Mailbox.forward_address).where(Mailbox.address == who))
    return found or db.scalar(
        select(DirectorySettings.forward_address)
        .join(DirectoryPerson, DirectoryPerson.directory_id == DirectorySettings.directory_id)
        .where(DirectoryPerson.address == who, DirectoryPerson.present))


def _alias_reaches(db: Session, alias_address: str, owner: str) -> bool:
    local, _, domain = alias_address.partition("@")
    domain_id = db.scalar(select(Domain.id).where(Domain.name == domain))
    if domain_id is None:
        return False
    found = db.scalar(
        select(AliasDestination.id)
        .join(Alias, AliasDestination.alias_id == Alias.id)
        .join(Mailbox, AliasDestination.mailbox_id == Mailbox.id)
        .where(Alias.local_part == local, AliasDestination.kind == TO_MAILBOX,
               (Alias.domain_id == domain_id) | Alias.domain_id.is_(None),
               Mailbox.address == owner)
    )
    return found is not None
