"""Mailboxes as the admin manages them: create, change, set passwords, delete.

Dovecot's passdb/userdb and Postfix read these rows live, and the portal's Sieve
before-script reads the forwarding columns from the userdb, so every change here
applies to the next login or message.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Select, String, delete, or_, select, type_coerce
from sqlalchemy.orm import Session

from core import passwords
from core.i18n import lazy_gettext as _l
from core.models import (AdminJob, ApiToken, AppPassword, Domain, Group, IdentitySettings, Mailbox,
                         MailPreferences, NotificationFolder, ReceiptRefusal, RecoveryCode,
                         ScheduledMessage, TrustedSender, TwoFactor, WebSession)
from core.services.access import audit
from core.services.access.roles import Roles
from core.services.errors import InvalidInput
from core.services.paging import Page, page_of
from core.services.personal import forwarding
from core.services.server import jobs

from . import aliases, lookup
from .links import new_link

SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
UNIT_MB = {"k": 1 / 1024, "": 1, "m": 1, "g": 1024, "t": 1024 * 1024}
MAX_QUOTA_MB = 16 * 1024 * 1024
MAX_JUNK_DAYS = 3650


def snapshot(mailbox: Mailbox) -> dict:
    """What the audit log keeps of a mailbox (never its password hash)."""
    return {
        "display_name": mailbox.display_name, "enabled": mailbox.enabled,
        "quota_mb": mailbox.quota_mb, "junk_days": mailbox.junk_days,
        "forward_address": mailbox.forward_address,
        "forward_keep_copy": mailbox.forward_keep_copy,
        "imap": mailbox.imap_enabled, "pop3": mailbox.pop3_enabled,
    }


def parse_size_mb(text: str) -> int | None:
    """Megabytes in TEXT such as 500M, 2G, 1.5GB or 750 (MB); None when empty."""
    if not (text or "").strip():
        return None
    match = SIZE.match(text)
    if not match:
        raise InvalidInput(_l('“%(text)s” is not a size: write a number of megabytes, or add G, as '
                              'in 500M or 2G.', text=text))
    megabytes = int(float(match.group(1)) * UNIT_MB[match.group(2).lower()])
    if not 1 <= megabytes <= MAX_QUOTA_MB:
        raise InvalidInput(_l('“%(text)s”: a quota must be between 1 MB and 16 TB.', text=text))
    return megabytes


def parse_days(text: str) -> int | None:
    """Whole days in TEXT (0 keeps Junk forever); None when empty."""
    if not (text or "").strip():
        return None
    try:
        days = int(text)
    except ValueError:
        days = -1
    if not 0 <= days <= MAX_JUNK_DAYS:
        raise InvalidInput(_l('“%(text)s”: Junk retention is a whole number of days from 0 (keep) '
                              'to %(max_junk_days)s.', text=text, max_junk_days=MAX_JUNK_DAYS))
    return days


def list_mailboxes(db: Session, roles: Roles, domain: str = "", text: str = "") -> list[Mailbox]:
    """Mailboxes visible under ROLES, optionally on one DOMAIN or matching TEXT."""
    return list(db.scalars(mailbox_query(roles, domain, text)))


def page_of_mailboxes(db: Session, roles: Roles, domain: str = "", text: str = "",
                      page: int = 1) -> Page:
    """Page PAGE of list_mailboxes' result, cut by the database."""
    return page_of(db, mailbox_query(roles, domain, text), page)


def mailbox_query(roles: Roles, domain: str = "", text: str = "") -> Select:
    """The query of list_mailboxes, by domain and local part."""
    query = select(Mailbox).join(Domain, Mailbox.domain_id == Domain.id)
    if not roles.server:
        query = query.where(Domain.name.in_(roles.domains))
    if domain:
        query = query.where(Domain.name == domain)
    if text.strip():
        # As plain text: the Address type would normalise the search text as an address.
        address = type_coerce(Mailbox.address, String)
        query = query.where(or_(address.contains(text.strip().lower(), autoescape=True),
                                Mailbox.display_name.contains(text.strip(), autoescape=True)))
    return query.order_by(Domain.name, Mailbox.local_part)


@dataclass(frozen=True)
class Created:
    """A new mailbox, and its one-time set-password token when no password was given."""

    mailbox: Mailbox
    link_token: str | None


def create_mailbox(db: Session, actor: str, address: str, display_name: str = "",
                   password: str | None = None, quota_mb: int | None = None) -> Created:
    """Create a mailbox with PASSWORD, or with a one-time set-password link when None."""
    if password is None:
        # Nobody knows this password: the link is the only way in.
        hidden = secrets.token_urlsafe(32)
        mailbox = lookup.add_mailbox(db, address, hidden, display_name.strip())
    else:
        mailbox = lookup.add_mailbox(db, address, password, display_name.strip())
    mailbox.quota_mb = quota_mb
    db.flush()
    audit.record(db, actor, "create", "mailbox", mailbox.address,
                 domain=mailbox.domain.name, after=snapshot(mailbox))
    token = None
    if password is None:
        token = new_link(db, actor, mailbox)
    return Created(mailbox, token)


def update_mailbox(db: Session, actor: str, mailbox: Mailbox, *, display_name: str,
                   enabled: bool, quota_mb: int | None, junk_days: int | None,
                   forward_address: str = "", forward_keep_copy: bool = True) -> Mailbox:
    """Change a mailbox's name, mail access, quota, Junk retention and forwarding.

    Taking mail access away also ends its web sessions; call mailstore.kick after the
    commit to close its open IMAP connections too.
    """
    before = snapshot(mailbox)
    mailbox.display_name = display_name.strip()
    if mailbox.enabled and not enabled:
        db.execute(delete(WebSession).where(WebSession.address == mailbox.address))
    mailbox.enabled = enabled
    mailbox.quota_mb = quota_mb
    mailbox.junk_days = junk_days
    # The very setting (and loop check) the owner has in the portal.
    forwarding.set_forwarding(db, mailbox.address, forward_address, forward_keep_copy)
    db.flush()
    audit.record(db, actor, "update", "mailbox", mailbox.address, domain=mailbox.domain.name,
                 before=before, after=snapshot(mailbox))
    return mailbox


def set_protocols(db: Session, actor: str, mailbox: Mailbox, *, imap: bool | None = None,
                  pop3: bool | None = None) -> bool:
    """Allow or refuse MAILBOX's IMAP and POP3 logins (None: unchanged); whether one was
    turned off (then call mailstore.kick after the commit: open sessions end).

    The webmail and the portal sign in over IMAP, so IMAP off ends the mailbox's web
    sessions too, and a person cannot turn off the IMAP of the mailbox they are signed in
    with (they would lock themselves out of this very page).
    """
    before = snapshot(mailbox)
    if imap is False and mailbox.imap_enabled and actor == mailbox.address:
        raise InvalidInput(_l("You are signed in with this mailbox: turning its IMAP off would "
                           "sign you out of Mailroom for good. Ask another admin, or use "
                           "`flask --app app mailbox set ADDRESS --no-imap`."))
    turned_off = (imap is False and mailbox.imap_enabled) or (pop3 is False and mailbox.pop3_enabled)
    if imap is False and mailbox.imap_enabled:
        db.execute(delete(WebSession).where(WebSession.address == mailbox.address))
    if imap is not None:
        mailbox.imap_enabled = imap
    if pop3 is not None:
        mailbox.pop3_enabled = pop3
    db.flush()
    audit.record(db, actor, "update", "mailbox", mailbox.address, domain=mailbox.domain.name,
                 before=before, after=snapshot(mailbox))
    return turned_off


def set_password(db: Session, actor: str, mailbox: Mailbox, password: str) -> None:
    """Give MAILBOX a new password (the rules apply) and end its web sessions (kick after commit)."""
    try:
        passwords.check_rules(password, mailbox.address)
    except passwords.WeakPassword as exc:
        raise InvalidInput(_l('Password refused: %(exc)s', exc=exc)) from exc
    mailbox.password_hash = passwords.hash_password(password)
    db.execute(delete(WebSession).where(WebSession.address == mailbox.address))
    db.flush()
    audit.record(db, actor, "update", "mailbox", mailbox.address, domain=mailbox.domain.name,
                 before={"password": "(old)"}, after={"password": "(changed)"})


@dataclass(frozen=True)
class References:
    """What else names a mailbox: shown before it is deleted."""

    aliases: list[str]
    catch_all_of: list[str]
    bcc_of: list[str]
    groups: list[str]


def references(db: Session, address: str) -> References:
    """Aliases, domains and groups that refer to ADDRESS."""
    return References(
        [a.address for a in aliases.aliases_pointing_to(db, address)],
        list(db.scalars(select(Domain.name).where(Domain.catchall_address == address))),
        list(db.scalars(select(Domain.name).where(Domain.bcc_address == address))),
        list(db.scalars(select(Group.name).where(Group.members.any(Mailbox.address == address)))),
    )


def delete_mailbox(db: Session, actor: str, mailbox: Mailbox, erase_mail: bool,
                   home: Path) -> AdminJob | None:
    """Remove MAILBOX from the directory; its Maildir stays unless ERASE_MAIL queues its erasure."""
    before = {**snapshot(mailbox), "references": references(db, mailbox.address).__dict__}
    forget_address(db, mailbox.address)
    return remove_from_directory(db, actor, "mailbox", mailbox, before, erase_mail, home)


# What Mailroom keeps by a person's address (some of it in the private database: no
# foreign key across the two files): sessions, sign-in secrets, messages waiting to be
# sent and webmail choices.
KEPT_BY_ADDRESS = (WebSession, TwoFactor, RecoveryCode, AppPassword, ApiToken, ScheduledMessage,
                   IdentitySettings, MailPreferences, NotificationFolder, TrustedSender, ReceiptRefusal)


def forget_address(db: Session, address: str) -> None:
    """Delete what is kept by ADDRESS, whose holder is gone: nothing is sent in their name,
    their app passwords and tokens open nothing, and whoever gets the address next starts
    without them (no inherited second factor, Bcc or signature)."""
    for model in KEPT_BY_ADDRESS:
        db.execute(delete(model).where(model.address == address))


def remove_from_directory(db: Session, actor: str, kind: str, row, before: dict,
                          erase_mail: bool, home: Path) -> AdminJob | None:
    """Delete ROW (KIND "mailbox" or "shared") and aliases left empty; erase HOME if ERASE_MAIL."""
    address, domain = row.address, row.domain.name
    db.delete(row)
    db.flush()
    aliases.drop_empty(db, actor)
    audit.record(db, actor, "delete", kind, address, domain=domain, before=before,
                 after={"mail": "erase queued" if erase_mail else "archive queued"})
    return jobs.queue_mail_job(db, actor, address, domain, home, erase_mail)
