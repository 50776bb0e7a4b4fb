"""The addresses a person sends as, and what they chose for each (name, Reply-To, Bcc, signature).

Which addresses are offered is never stored: it is worked out from the directory the
same way Postfix's sender-login map decides (stack/templates/postfix/maps/
sender_login.cf, enforced on submission by reject_authenticated_sender_login_mismatch):
the person's own mailbox address, and every alias with a destination of kind 'mailbox'
that is their mailbox; an alias on every domain ('postmaster@*') counts on each domain
that has no alias of its own with that name. A directory user sends as their address and
the extra addresses the directory gives them (Postfix's ldap: sender-login table).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.mail.compose import InvalidRecipients, format_recipients, parse_recipients
from core.models import (
    TO_MAILBOX, TO_SHARED, Alias, AliasDestination, Domain, IdentitySettings, Mailbox,
    MailPreferences, NotificationFolder, SharedMailbox, group_members, shared_mailbox_owners,
)
from core.services.directory import directory_users
from core.services.personal.validation import InvalidField, one_line, plain_text

SIGNATURE_LIMIT = 4000
NAME_LIMIT = 200
MAX_BCC = 5
MAX_NOTIFY_FOLDERS = 20  # besides the INBOX; the stream looks at each every heartbeat


@dataclass(frozen=True)
class Identity:
    """An address the person may send as, e.g. Identity('sales@example.test', 'Sam Rivera')."""

    address: str
    name: str
    reply_to: str = ""
    bcc: str = ""
    signature: str = ""
    signature_markdown: bool = False

    @property
    def label(self) -> str:
        """'Sam Rivera <sales@example.test>'."""
        return f"{self.name} <{self.address}>" if self.name else self.address


@dataclass(frozen=True)
class NotOffered:
    """An address the person might expect to send as, and why the server refuses it."""

    address: str
    reason: str


def _alias_rows(db: Session, where) -> list[tuple[Alias, AliasDestination]]:
    return list(db.execute(
        select(Alias, AliasDestination).join(AliasDestination, AliasDestination.alias_id == Alias.id)
        .where(where).order_by(Alias.local_part)
    ).all())


def _own_aliases(db: Session, address: str) -> list[Alias]:
    """The aliases with ADDRESS's mailbox as a destination (the map's kind = 'mailbox')."""
    mailbox_id = db.scalar(select(Mailbox.id).where(Mailbox.address == address))
    if mailbox_id is None:
        return []
    return [alias for alias, _ in _alias_rows(db, (AliasDestination.kind == TO_MAILBOX)
                                              & (AliasDestination.mailbox_id == mailbox_id))]


def _domain_aliases(db: Session) -> set[tuple[str, str]]:
    """(local part, domain) of every alias bound to one domain."""
    return set(db.execute(select(Alias.local_part, Domain.name)
                          .join(Domain, Alias.domain_id == Domain.id)).all())


def sendable(db: Session, address: str) -> list[str]:
    """ADDRESS first, then every address Postfix lets its login use as sender, sorted."""
    domains = list(db.scalars(select(Domain.name).order_by(Domain.name)))
    bound = _domain_aliases(db)
    found = set()
    for alias in _own_aliases(db, address):
        if alias.domain is not None:
            found.add(f"{alias.local_part}@{alias.domain.name}")
        else:
            found.update(f"{alias.local_part}@{d}" for d in domains
                         if (alias.local_part, d) not in bound)
    found.update(directory_users.extra_addresses(db, address))
    return [address, *sorted(found - {address})]


def not_offered(db: Session, address: str) -> list[NotOffered]:
    """Addresses that reach the person but that the server does not let them send as."""
    found: dict[str, str] = {}
    shared = list(db.scalars(
        select(SharedMailbox).join(shared_mailbox_owners,
                                   shared_mailbox_owners.c.shared_mailbox_id == SharedMailbox.id)
        .join(group_members, group_members.c.group_id == shared_mailbox_owners.c.group_id)
        .join(Mailbox, Mailbox.id == group_members.c.mailbox_id)
        .where(Mailbox.address == address).order_by(SharedMailbox.address)))
    for box in shared:
        found[box.address] = (_l("a shared mailbox you read through your group; the mail server "
                              "lets only a mailbox, and the aliases delivering to it, send as an address"))
    ids = [box.id for box in shared]
    if ids:
        for alias, dest in _alias_rows(db, (AliasDestination.kind == TO_SHARED)
                                       & AliasDestination.shared_mailbox_id.in_(ids)):
            domain = alias.domain.name if alias.domain else dest.shared_mailbox.domain.name
            found.setdefault(f"{alias.local_part}@{domain}",
                             _l('an alias of the shared mailbox %(address)s, not of your own '
                                'mailbox', address=dest.shared_mailbox.address))
    found.update(_overridden(db, address))
    offered = set(sendable(db, address))
    return [NotOffered(a, r) for a, r in sorted(found.items()) if a not in offered]


def _overridden(db: Session, address: str) -> dict[str, str]:
    """Aliases on every domain of the person's that their own domain redefines."""
    own_domain = address.rpartition("@")[2]
    bound = _domain_aliases(db)
    return {f"{a.local_part}@{own_domain}":
            _l('%(local_part)s@* delivers to you, but %(own_domain)s has its own %(local_part)s@ '
               'alias, which is the one that counts there', local_part=a.local_part, own_domain=own_domain)
            for a in _own_aliases(db, address)
            if a.domain is None and (a.local_part, own_domain) in bound}


def preferences(db: Session, address: str) -> MailPreferences:
    """The person's compose preferences (defaults when never saved; not added to the session)."""
    return db.get(MailPreferences, address) or MailPreferences(
        address=address, default_sender="", signature_above_quote=False, conversations=False,
        notifications=False, language="")


def identities(db: Session, address: str) -> list[Identity]:
    """Every address ADDRESS may send as, with their settings; the default identity first."""
    name = db.scalar(select(Mailbox.display_name).where(Mailbox.address == address)) or ""
    stored = {s.sender: s for s in db.scalars(
        select(IdentitySettings).where(IdentitySettings.address == address))}
    found = []
    for sender in sendable(db, address):
        row = stored.get(sender)
        found.append(Identity(sender, name) if row is None else Identity(
            sender, row.display_name or name, row.reply_to, row.bcc, row.signature,
            row.signature_markdown))
    default = preferences(db, address).default_sender
    found.sort(key=lambda i: i.address != default)  # stable: the rest keep their order
    return found


def _addresses(field: str, text: str, label: str, limit: int) -> str:
    try:
        pairs = parse_recipients(text)
    except InvalidRecipients as exc:
        raise InvalidField(field, _l('%(label)s: not an e-mail address: %(bad)s.',
                                     label=label, bad=', '.join(exc.bad))) from exc
    if len(pairs) > limit:
        raise InvalidField(field, _l('%(label)s: at most %(limit)s addresses.', label=label, limit=limit))
    return format_recipients(pairs)


def save_identity(db: Session, address: str, sender: str, form: dict) -> None:
    """Store FORM's display name, Reply-To, Bcc and signature for SENDER (one of ADDRESS's)."""
    if sender not in sendable(db, address):
        raise InvalidField("form", _l('You cannot send as %(sender)s.', sender=sender))
    name = one_line(form.get("display_name", ""))
    if len(name) > NAME_LIMIT:
        raise InvalidField("display_name", _l('The name is longer than %(name_limit)s characters.',
                                              name_limit=NAME_LIMIT))
    values = dict(
        display_name=name,
        reply_to=_addresses("reply_to", form.get("reply_to", ""), "Reply-To", 1),
        bcc=_addresses("bcc", form.get("bcc", ""), "Automatic Bcc", MAX_BCC),
        signature=plain_text("signature", form.get("signature", ""), "The signature",
                             SIGNATURE_LIMIT, required=False),
        signature_markdown=bool(form.get("signature_markdown")),
    )
    row = db.scalar(select(IdentitySettings).where(IdentitySettings.address == address,
                                                   IdentitySettings.sender == sender))
    if row is None:
        db.add(IdentitySettings(address=address, sender=sender, **values))
    else:
        for key, value in values.items():
            setattr(row, key, value)


def save_preferences(db: Session, address: str, default_sender: str,
                     signature_above_quote: bool) -> None:
    """Store the default identity (one of ADDRESS's) and where a reply's signature goes."""
    if default_sender not in sendable(db, address):
        raise InvalidField("default_sender", _l('You cannot send as %(default_sender)s.',
                                                default_sender=default_sender))
    row = _preferences_row(db, address)
    row.default_sender, row.signature_above_quote = default_sender, signature_above_quote


def save_list_view(db: Session, address: str, conversations: bool) -> None:
    """Show ADDRESS's message list as conversations (one row per thread) or as messages."""
    _preferences_row(db, address).conversations = conversations


def notification_folders(db: Session, address: str) -> list[str]:
    """The folders besides the INBOX whose new mail ADDRESS is told about."""
    return list(db.scalars(select(NotificationFolder.folder).where(
        NotificationFolder.address == address).order_by(NotificationFolder.folder)))


def save_notifications(db: Session, address: str, on: bool, folders: Iterable[str] = ()) -> None:
    """Tell ADDRESS about new mail in the INBOX and FOLDERS while the webmail is open (or not).

    InvalidField for more than MAX_NOTIFY_FOLDERS folders: each is looked at every heartbeat.
    """
    chosen = sorted({f for f in folders if f and f.upper() != "INBOX"})
    if len(chosen) > MAX_NOTIFY_FOLDERS:
        raise InvalidField("folders", _l("Choose at most %(limit)s folders besides the Inbox.",
                                         limit=MAX_NOTIFY_FOLDERS))
    _preferences_row(db, address).notifications = on
    db.execute(delete(NotificationFolder).where(NotificationFolder.address == address))
    db.add_all(NotificationFolder(address=address, folder=f) for f in chosen)


def save_language(db: Session, address: str, language: str) -> None:
    """Show ADDRESS the pages in LANGUAGE (a code such as "it"; "" follows the browser)."""
    _preferences_row(db, address).language = language


def language(db: Session, address: str) -> str:
    """The language ADDRESS chose for the pages and the mail Mailroom writes them, or ""."""
    return db.scalar(select(MailPreferences.language).where(MailPreferences.address == address)) or ""


def _preferences_row(db: Session, address: str) -> MailPreferences:
    """ADDRESS's stored preferences, added to the session first when there are none."""
    row = db.get(MailPreferences, address)
    if row is None:
        row = MailPreferences(address=address, default_sender="", signature_above_quote=False,
                              conversations=False, notifications=False, language="")
        db.add(row)
    return row


def pick_identity(choices: list[Identity], address: str, strict: bool = True) -> Identity:
    """The identity for ADDRESS; InvalidInput (or the first one when not STRICT) otherwise."""
    wanted = (address or "").strip().lower()
    for identity in choices:
        if identity.address == wanted:
            return identity
    if strict:
        raise InvalidField("from", _l('You cannot send as %(nobody)s: choose one of your addresses.',
                                      nobody=address or 'nobody'))
    return choices[0]
