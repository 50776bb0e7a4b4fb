"""Address suggestions for the compose form: the address book, people you wrote to, and
this server's mailboxes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import String, or_, select, type_coerce
from sqlalchemy.orm import Session

from core.cache import LruCache, share
from core.mail import envelope, folders, listing
from core.mail.errors import ImapError, NotFoundError
from core.models import Mailbox

RECENT_MESSAGES = 200
MAX_RESULTS = 8


@dataclass(frozen=True)
class Contact:
    """A suggestion, e.g. Contact('Priya Natarajan', 'priya@example.test')."""

    name: str
    address: str

    @property
    def label(self) -> str:
        """What goes into the field: 'Priya Natarajan <priya@example.test>'."""
        if not self.name:
            return self.address
        name = f'"{self.name}"' if any(c in self.name for c in ',;<>@"') else self.name
        return f"{name} <{self.address}>"

    def matches(self, query: str) -> bool:
        """True when QUERY (lower-case) is in the name or the address."""
        return query in self.name.lower() or query in self.address.lower()


# Recent correspondents per person, reused while Sent has not changed; address books
# (core/services/mail/addressbook.py) share it, reused while their change tag is the same.
recent_cache = share(0.05)
# What one Contact costs in memory beyond its two strings (object, dict, list slot).
CONTACT_OVERHEAD = 200


def recent_correspondents(client: IMAPClient, owner: str,
                          cache: LruCache = recent_cache) -> list[Contact]:
    """Recipients of the newest ~200 messages in Sent, most recent first, without repeats.

    One EXAMINE of Sent; the envelopes are fetched again only when its
    UIDVALIDITY, UIDNEXT or EXISTS changed.
    """
    sent = folders.find_special(folders.list_folders(client, counts=False), "\\Sent")
    try:
        info = listing.select(client, sent, readonly=True)
    except NotFoundError:
        return []
    state = (sent, info.get(b"UIDVALIDITY"), info.get(b"UIDNEXT"), info.get(b"EXISTS"))
    cached = cache.get(owner, state)
    if cached is not None:
        return cached
    contacts = _from_envelopes(client, int(info.get(b"EXISTS", 0)))
    cache.put(owner, contacts, state,
              sum(CONTACT_OVERHEAD + len(c.name) + len(c.address) for c in contacts))
    return contacts


def _from_envelopes(client: IMAPClient, exists: int) -> list[Contact]:
    if not exists:
        return []
    first = max(1, exists - RECENT_MESSAGES + 1)
    try:
        # A bare sequence set as SEARCH key means message numbers (RFC 3501 §6.4.4):
        # the last ones are the newest arrivals, whatever their UIDs.
        uids = client.search([f"{first}:*"])
        data = client.fetch(uids, [b"ENVELOPE"]) if uids else {}
    except IMAPClientError as exc:
        raise ImapError(str(exc)) from exc
    seen: dict[str, Contact] = {}
    for _, item in sorted(data.items(), reverse=True):
        env = item.get(b"ENVELOPE")
        if env is None:
            continue
        for name, address in (envelope.addresses(env.to) + envelope.addresses(env.cc)
                              + envelope.addresses(env.bcc)):
            key = address.lower()
            if "@" in key and key not in seen:
                seen[key] = Contact(name, key)
    return list(seen.values())


def directory_matches(db: Session, query: str, owner: str,
                      limit: int = MAX_RESULTS) -> list[Contact]:
    """Enabled mailboxes of OWNER's domain whose address or display name contains QUERY.

    Only the person's own domain: the server may host other organisations, whose
    staff lists are not theirs to browse.
    """
    domain = owner.rpartition("@")[2]
    rows = db.execute(
        select(Mailbox.display_name, Mailbox.address)
        .where(Mailbox.enabled.is_(True))
        .where(type_coerce(Mailbox.address, String).endswith("@" + domain, autoescape=True))
        # type_coerce: the Address column type would normalise the pattern as an address.
        .where(or_(type_coerce(Mailbox.address, String).icontains(query, autoescape=True),
                   Mailbox.display_name.icontains(query, autoescape=True)))
        .order_by(Mailbox.address).limit(limit)
    )
    return [Contact(name or "", address) for name, address in rows]


def suggest(client: IMAPClient, db: Session, owner: str, query: str,
            limit: int = MAX_RESULTS, book: Iterable[Contact] = ()) -> list[Contact]:
    """Up to LIMIT contacts matching QUERY: the address book's (BOOK, already matched)
    first, then recent correspondents, then the directory."""
    query = query.strip().lower()[:100]
    if not query:
        return []
    found: dict[str, Contact] = {}
    for contact in book:
        found.setdefault(contact.address, contact)
    for contact in recent_correspondents(client, owner):
        if contact.matches(query):
            found.setdefault(contact.address, contact)
    for contact in directory_matches(db, query, owner, limit):
        known = found.get(contact.address)
        if known is None or (not known.name and contact.name):
            found[contact.address] = contact
    return list(found.values())[:limit]
