"""Domains and mailboxes: the directory Postfix and Dovecot read live (aliases: aliases.py)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import passwords
from core.i18n import lazy_gettext as _l
from core.models import (
    DELIVER, AdminJob, Alias, Domain, InvalidName, Mailbox, SharedMailbox, normalize_address,
    normalize_domain,
)
from core.models.jobs import DONE
from core.services.errors import AlreadyExists, InvalidInput, NotFound

# Who the audit log names for changes made by scripts rather than a signed-in admin.
SYSTEM_ACTOR = "system"


def valid_address(text: str) -> str:
    """TEXT as a normalised address; InvalidInput with the reason otherwise."""
    try:
        return normalize_address(text)
    except InvalidName as exc:
        raise InvalidInput(str(exc)) from exc


def valid_domain_name(name: str) -> str:
    """NAME lower-cased and IDNA-encoded; InvalidInput with the reason otherwise."""
    try:
        return normalize_domain(name)
    except InvalidName as exc:
        raise InvalidInput(_l('%(exc)s: write a name such as example.org (letters in any language '
                              'are fine).', exc=exc)) from exc


def get_domain(db: Session, name: str) -> Domain:
    """The domain called NAME (any spelling, IDNA or not); NotFound otherwise."""
    ascii_name = valid_domain_name(name)
    domain = db.scalar(select(Domain).where(Domain.name == ascii_name))
    if domain is None:
        raise NotFound(_l('There is no domain %(name)s.', name=name))
    return domain


def add_domain(db: Session, name: str) -> Domain:
    """Create a domain that delivers to local mailboxes."""
    ascii_name = valid_domain_name(name)
    if db.scalar(select(Domain.id).where(Domain.name == ascii_name)):
        raise AlreadyExists(_l('The domain %(ascii_name)s exists already.', ascii_name=ascii_name))
    domain = Domain(name=ascii_name, mode=DELIVER)
    db.add(domain)
    db.flush()
    return domain


def address_in_use(db: Session, address: str) -> bool:
    """True when ADDRESS is taken by a mailbox, a shared mailbox or an alias."""
    local, _, domain_name = address.partition("@")
    if db.scalar(select(Mailbox.id).where(Mailbox.address == address)):
        return True
    if db.scalar(select(SharedMailbox.id).where(SharedMailbox.address == address)):
        return True
    domain_id = db.scalar(select(Domain.id).where(Domain.name == domain_name))
    return bool(db.scalar(select(Alias.id).where(
        Alias.local_part == local,
        (Alias.domain_id == domain_id) | Alias.domain_id.is_(None),
    )))


def refuse_while_archiving(db: Session, address: str) -> None:
    """A deleted ADDRESS's mail must be archived or erased before the address is given again."""
    pending = select(AdminJob.id).where(AdminJob.target == address, AdminJob.state != DONE)
    if db.scalar(pending.limit(1)) is not None:
        raise AlreadyExists(_l("The mail of the previous owner of %(address)s is still being moved "
                               "to the archive (or failed to be: see the dashboard's jobs); try "
                               "again in a moment.", address=address))


def add_mailbox(db: Session, address: str, password: str, display_name: str = "") -> Mailbox:
    """Create a mailbox on an existing domain; the password is hashed for Dovecot."""
    address = valid_address(address)
    local, _, domain_name = address.partition("@")
    domain = get_domain(db, domain_name)
    if address_in_use(db, address):
        raise AlreadyExists(_l('The address %(address)s is in use already.', address=address))
    refuse_while_archiving(db, address)
    try:
        passwords.check_rules(password, address)
    except passwords.WeakPassword as exc:
        raise InvalidInput(_l('Password refused: %(exc)s', exc=exc)) from exc
    mailbox = Mailbox(
        domain_id=domain.id, local_part=local, address=address,
        password_hash=passwords.hash_password(password), display_name=display_name,
    )
    db.add(mailbox)
    db.flush()
    return mailbox


def get_mailbox(db: Session, address: str) -> Mailbox:
    """The mailbox at ADDRESS; NotFound otherwise."""
    mailbox = db.scalar(select(Mailbox).where(Mailbox.address == valid_address(address)))
    if mailbox is None:
        raise NotFound(_l('There is no mailbox %(address)s.', address=address))
    return mailbox


def set_mail_access(db: Session, address: str, enabled: bool) -> Mailbox:
    """Allow or refuse IMAP, POP3 and SMTP AUTH for a mailbox (mail is still delivered)."""
    mailbox = get_mailbox(db, address)
    mailbox.enabled = enabled
    db.flush()
    return mailbox


def address_is_mailbox(db: Session, address: str) -> bool:
    """True when ADDRESS is a user mailbox or a shared mailbox (delivered, never aliased)."""
    return bool(db.scalar(select(Mailbox.id).where(Mailbox.address == address))
                or db.scalar(select(SharedMailbox.id).where(SharedMailbox.address == address)))

