"""The person's address book: contacts and groups kept in CardDAV (core/mail/carddav.py).

Phones and Thunderbird sync the same book; the webmail reads it whole per request
(one REPORT) and writes single cards with their ETag, so an edit made elsewhere in the
meantime is refused rather than overwritten. Groups are vCard CATEGORIES.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.i18n import lazy_gettext as _l
from core.mail import carddav, vcard
from core.mail.carddav import AddressBook, CardDavSettings
from core.mail.errors import NotFoundError
from core.services.directory.lookup import valid_address
from core.services.errors import InvalidInput, NotFound, Refused
from core.cache import LruCache
from core.services.mail.contacts import Contact, recent_cache

MAX_NAME, MAX_NOTE, MAX_ITEMS, MAX_GROUP = 200, 5000, 20, 100
PHONE = re.compile(r"^[0-9+()./ #*pwx-]{3,40}$", re.IGNORECASE)
MAX_IMPORT_BYTES = 5 * 1024 * 1024
# What one parsed contact costs in memory beyond twice its vCard text (its Card, strings).
CARD_OVERHEAD = 600


@dataclass(frozen=True)
class Entry:
    """A card of the book: its file NAME (the id in URLs), ETag and contents."""

    name: str
    etag: str
    card: vcard.Card
    text: str


def open_book(cfg: dict, login: str, create: bool = False) -> AddressBook:
    """LOGIN's address book; with CREATE, made on the server if it is not there yet (a
    phone then finds it before the first contact is saved)."""
    book = AddressBook(CardDavSettings.from_config(cfg), login)
    if create:
        book.ensure()
    return book


def entries(book: AddressBook, cache: LruCache = recent_cache) -> list[Entry]:
    """Every contact, by name (cards that cannot be read are left out).

    Read and parsed again only when the book's change tag moved (one PROPFIND otherwise):
    parsing a thousand vCards takes ~0.3 s.
    """
    state = book.ctag()
    if state is None:
        return []
    key = ("addressbook", book.login)
    cached = cache.get(key, state)
    if cached is None:
        cached = _read_all(book)
        cache.put(key, cached, state, sum(CARD_OVERHEAD + 2 * len(e.text) for e in cached))
    return cached


def _read_all(book: AddressBook) -> list[Entry]:
    found = []
    for stored in book.cards():
        if not book.owns(stored.href):
            continue
        try:
            card = vcard.parse(stored.text)
        except vcard.BadCard:
            continue
        found.append(Entry(stored.href.rpartition("/")[2], stored.etag, card, stored.text))
    return sorted(found, key=lambda e: (e.card.title.casefold(), e.name))


def matching(found: list[Entry], query: str = "", group: str = "") -> list[Entry]:
    """The entries whose name, address, phone or note contains QUERY, in GROUP if given."""
    query = query.strip().casefold()[:100]
    return [e for e in found
            if (not group or group in e.card.groups)
            and (not query or any(query in text.casefold() for text in
                                  (e.card.name, e.card.note, *e.card.emails, *e.card.phones)))]


def addresses(found: list[Entry]) -> list[str]:
    """The first e-mail address of each entry that has one (to write to a group)."""
    return [e.card.emails[0] for e in found if e.card.emails]


def groups(found: list[Entry]) -> list[tuple[str, int]]:
    """Each group's name and how many contacts are in it, by name."""
    counts: dict[str, int] = {}
    for entry in found:
        for group in entry.card.groups:
            counts[group] = counts.get(group, 0) + 1
    return sorted(counts.items(), key=lambda item: item[0].casefold())


def get(book: AddressBook, name: str) -> Entry:
    """The contact in file NAME; NotFound when there is none."""
    href = book.path + name
    if not book.owns(href):
        raise NotFound(_l("That contact does not exist."))
    try:
        stored = book.get(href)
        return Entry(name, stored.etag, vcard.parse(stored.text), stored.text)
    except (NotFoundError, vcard.BadCard) as exc:
        raise NotFound(_l("That contact does not exist (any more).")) from exc


def card_from_form(uid: str, name: str, emails: str, phones: str, note: str, group_text: str) -> vcard.Card:
    """A Card from the contact form's fields (one address or phone a line, groups
    separated by commas); InvalidInput saying what to fix."""
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise InvalidInput(_l("The name is longer than %(max)s characters.", max=MAX_NAME))
    addresses = tuple(dict.fromkeys(_address(line) for line in _lines(emails)))
    numbers = tuple(dict.fromkeys(_phone(line) for line in _lines(phones)))
    if not name and not addresses:
        raise InvalidInput(_l("Give the contact a name or an e-mail address."))
    if len(note) > MAX_NOTE:
        raise InvalidInput(_l("The note is longer than %(max)s characters.", max=MAX_NOTE))
    names = tuple(dict.fromkeys(" ".join(g.split()) for g in group_text.split(",") if g.strip()))
    if any(len(g) > MAX_GROUP for g in names) or len(names) > MAX_ITEMS:
        raise InvalidInput(_l("Give at most %(max)s groups of up to %(length)s characters each.",
                                max=MAX_ITEMS, length=MAX_GROUP))
    return vcard.Card(uid, name, addresses, numbers, note.strip().replace("\r\n", "\n"), names)


def _lines(text: str) -> list[str]:
    lines = [line.strip() for line in re.split(r"[\n,;]", text) if line.strip()]
    if len(lines) > MAX_ITEMS:
        raise InvalidInput(_l("Give at most %(max)s e-mail addresses and %(max)s phone numbers.", max=MAX_ITEMS))
    return lines


def _address(text: str) -> str:
    try:
        return valid_address(text)
    except InvalidInput as exc:
        raise InvalidInput(_l("“%(text)s” is not an e-mail address: %(problem)s", text=text[:100],
                                problem=str(exc))) from exc


def _phone(text: str) -> str:
    if not PHONE.match(text):
        raise InvalidInput(_l("“%(text)s” is not a phone number: use digits, spaces and + ( ) - . / only.",
                              text=text[:100]))
    return text


def save(book: AddressBook, card: vcard.Card, entry: Entry | None = None) -> str:
    """Store CARD, new or over ENTRY (its other vCard fields kept); the card's file name.

    Refused when ENTRY was changed elsewhere since it was read."""
    if entry is None:
        name = _file_name(card.uid)
        book.ensure()
        book.put(book.path + name, vcard.serialize(card))
        return name
    try:
        book.put(book.path + entry.name, vcard.serialize(card, entry.text), entry.etag)
    except carddav.Conflict as exc:
        raise Refused(str(exc)) from exc
    return entry.name


def _file_name(uid: str) -> str:
    """A file name for a card with UID: the UID when it is a plain one, else a new one."""
    safe = uid if re.fullmatch(r"[A-Za-z0-9@._-]{1,100}", uid) and not uid.startswith(".") else vcard.new_uid()
    return safe + ".vcf"


def delete(book: AddressBook, entry: Entry) -> None:
    """Remove the contact."""
    book.delete(book.path + entry.name)


def add_address(book: AddressBook, name: str, address: str) -> tuple[str, bool]:
    """Add ADDRESS (with NAME) to the book unless a contact has it already; the contact's
    file name and whether it was added now."""
    address = _address(address)
    for entry in entries(book):
        if address in (a.lower() for a in entry.card.emails):
            return entry.name, False
    card = vcard.Card(vcard.new_uid(), " ".join(name.split())[:MAX_NAME], (address,))
    return save(book, card), True


def import_file(book: AddressBook, data: bytes) -> tuple[int, int]:
    """Store every card of a .vcf file: (added, replaced); a card whose UID is in the
    book already replaces it. InvalidInput (nothing stored) when one cannot be read."""
    cards = _cards_of(data)
    book.ensure()
    known = {e.card.uid: e for e in entries(book)}
    if not known and _empty(book):  # the first import from an old phone: one request
        unique = {card.uid: card_text for card, card_text in reversed(cards)}  # the first wins
        book.put_all("".join(_crlf_end(text) for text in unique.values()))
        return len(unique), 0
    added = replaced = 0
    for card, card_text in cards:
        old = known.get(card.uid)
        if old is None:
            name = _put_new(book, card.uid, card_text)
            known[card.uid] = Entry(name, "", card, card_text)
            added += 1
        elif old.etag:  # (no ETag: the file has this card twice; the first one counts)
            try:
                book.put(book.path + old.name, card_text, old.etag)
            except carddav.Conflict as exc:
                raise Refused(_l("Stopped after %(count)s contacts: %(problem)s", count=added + replaced,
                                 problem=str(exc))) from exc
            replaced += 1
    return added, replaced


def _empty(book: AddressBook) -> bool:
    """Whether the book holds no card at all, readable or not, and did not change while we
    looked: one PUT of the whole book replaces what it holds (a phone may be syncing)."""
    before = book.ctag()
    return before is not None and not book.cards() and book.ctag() == before


def _cards_of(data: bytes) -> list[tuple[vcard.Card, str]]:
    """The cards of an uploaded .vcf file; InvalidInput saying what is wrong with it."""
    if len(data) > MAX_IMPORT_BYTES:
        raise InvalidInput(_l("The file is larger than %(size)s MB.", size=MAX_IMPORT_BYTES // (1024 * 1024)))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # vCard 2.1 files from old phones
    try:
        cards = vcard.split_file(text)
    except vcard.BadCard as exc:
        raise InvalidInput(_l("Nothing was imported: %(problem)s.", problem=str(exc))) from exc
    if not cards:
        raise InvalidInput(_l("Nothing was imported: the file holds no vCard (BEGIN:VCARD … END:VCARD)."))
    return cards


def _put_new(book: AddressBook, uid: str, text: str) -> str:
    """Store a card new to the book; its file name (a fresh one if a phone used the UID's)."""
    name = _file_name(uid)
    try:
        book.put(book.path + name, text)
    except carddav.Conflict:
        name = vcard.new_uid() + ".vcf"
        book.put(book.path + name, text)
    return name


def export_all(book: AddressBook) -> str:
    """The whole book as one .vcf text, cards as stored."""
    return "".join(_crlf_end(e.text) for e in entries(book))


def _crlf_end(text: str) -> str:
    return text if text.endswith("\n") else text + "\r\n"


@dataclass(frozen=True)
class GroupSuggestion:
    """A group offered in compose, e.g. 'Team (5)', that expands to its members' addresses."""

    name: str
    members: tuple[Contact, ...]

    @property
    def title(self) -> str:
        return f"{self.name} ({len(self.members)})"

    @property
    def label(self) -> str:
        """What goes into the field: each member's first address, with their name."""
        return ", ".join(member.label for member in self.members)


def suggestions(book: AddressBook, query: str) -> tuple[list[GroupSuggestion], list[Contact]]:
    """The groups whose name contains QUERY (those with an address) and one suggestion
    per address of the contacts matching QUERY, each by name."""
    query = query.strip().casefold()
    found = entries(book)
    groups_found = [GroupSuggestion(name, tuple(Contact(e.card.name, e.card.emails[0].lower())
                                                for e in matching(found, "", name) if e.card.emails))
                    for name, _ in groups(found) if query in name.casefold()]
    return ([group for group in groups_found if group.members],
            [Contact(e.card.name, address.lower()) for e in matching(found, query)
             for address in e.card.emails
             if query in e.card.name.casefold() or query in address.casefold()])


def group_name(text: str) -> str:
    """TEXT as a group's name (spaces tidied); InvalidInput saying what to fix."""
    name = " ".join(text.split())
    if not name:
        raise InvalidInput(_l("Give the group a name."))
    if len(name) > MAX_GROUP or "," in name:
        raise InvalidInput(_l("A group's name is up to %(max)s characters, without commas.", max=MAX_GROUP))
    return name


def rename_group(book: AddressBook, old: str, new: str) -> tuple[str, int]:
    """Give every contact in group OLD the group NEW instead; the new name (tidied) and
    how many contacts were changed."""
    new = group_name(new)
    return new, _regroup(book, old, lambda names: tuple(dict.fromkeys(new if g == old else g for g in names)))


def delete_group(book: AddressBook, name: str) -> int:
    """Take every contact out of group NAME (the contacts stay); how many were changed."""
    return _regroup(book, name, lambda names: tuple(g for g in names if g != name))


def _regroup(book: AddressBook, group: str, change) -> int:
    """Store each card of GROUP with its groups changed by CHANGE, each with its ETag (a
    card changed elsewhere meanwhile stops it, saying how far it got)."""
    members = matching(entries(book), "", group)
    if not members:
        raise NotFound(_l("There is no group “%(name)s”.", name=group[:MAX_GROUP]))
    for done, entry in enumerate(members):
        card = entry.card
        try:
            save(book, vcard.Card(card.uid, card.name, card.emails, card.phones, card.note,
                                  change(card.groups)), entry)
        except Refused as exc:
            raise Refused(_l("Stopped after %(done)s of %(count)s contacts: %(problem)s", done=done,
                                 count=len(members), problem=str(exc))) from exc
    return len(members)
