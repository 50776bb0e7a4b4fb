"""vCards (RFC 6350 / 2426) as plain values, through vobject (the library Radicale uses).

Only the fields the webmail shows are read and changed: name, e-mail addresses,
phone numbers, note and groups (CATEGORIES, which Thunderbird and DAVx5 show as
groups). Everything else a phone wrote (photo, postal address, birthday, ...) is
kept as it was when a card is edited here.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import vobject
from vobject.base import ParseError, VObjectError

MAX_CARDS = 3000  # cards one import may bring (Radicale stores ~50 a second: carddav.PUT_ALL_TIMEOUT)


class BadCard(ValueError):
    """The text is not a vCard this module can read; the message says which one."""


@dataclass(frozen=True)
class Card:
    """A contact, e.g. Card('0f3…', 'Priya Natarajan', ('priya@example.test',), ('+39 06 1234',))."""

    uid: str
    name: str
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    note: str = ""
    groups: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """What lists show: the name, else the first address or phone."""
        return self.name or next(iter(self.emails + self.phones), "(no name)")


def new_uid() -> str:
    """A fresh UID for a card made here."""
    return str(uuid.uuid4())


def parse(text: str) -> Card:
    """The one vCard in TEXT as a Card; BadCard if it is not one."""
    try:
        component = vobject.readOne(text)
    except (ParseError, VObjectError, ValueError, StopIteration) as exc:
        raise BadCard(f"not a readable vCard: {exc}") from exc
    return _card(component)


def split_file(text: str) -> list[tuple[Card, str]]:
    """Every vCard in TEXT (a .vcf file) as a Card and its own text, each with a UID (one
    is added where missing); BadCard naming the first card that cannot be read."""
    found = []
    try:
        for number, component in enumerate(vobject.readComponents(text), start=1):
            if component.name != "VCARD":
                raise BadCard(f"item {number} of the file is a {component.name}, not a contact")
            if number > MAX_CARDS:
                raise BadCard(f"the file has more than {MAX_CARDS} contacts")
            card = _card(component)
            if "uid" not in component.contents:
                component.add("uid").value = card.uid
            found.append((card, component.serialize()))
    except (ParseError, VObjectError, ValueError) as exc:
        raise BadCard(f"contact {len(found) + 1} of the file is not a readable vCard ({exc})") from exc
    return found


def _card(component) -> Card:
    contents = component.contents
    def values(key: str) -> tuple[str, ...]:
        return tuple(str(line.value).strip() for line in contents.get(key, []) if str(line.value).strip())
    groups: list[str] = []
    for line in contents.get("categories", []):
        value = line.value if isinstance(line.value, list) else [line.value]
        groups += [str(item).strip() for item in value if str(item).strip()]
    uid = values("uid")
    name = values("fn")
    return Card(uid[0] if uid else new_uid(), name[0] if name else _name_from_n(component),
                values("email"), values("tel"), "\n".join(values("note")), tuple(dict.fromkeys(groups)))


def _name_from_n(component) -> str:
    line = component.contents.get("n")
    if not line:
        return ""
    n = line[0].value
    return " ".join(part for part in (str(n.given or ""), str(n.family or "")) if part).strip()


def serialize(card: Card, original: str | None = None) -> str:
    """CARD as vCard text; with ORIGINAL (the stored text), its other fields kept."""
    component = vobject.readOne(original) if original else vobject.vCard()
    for key in ("fn", "n", "email", "tel", "note", "categories", "uid"):
        component.contents.pop(key, None)
    if "version" not in component.contents:
        component.add("version").value = "3.0"
    component.add("uid").value = card.uid
    component.add("fn").value = card.name
    given, _, family = card.name.rpartition(" ")
    component.add("n").value = vobject.vcard.Name(family=family, given=given)
    for email in card.emails:
        line = component.add("email")
        line.value = email
        line.type_param = "INTERNET"
    for phone in card.phones:
        component.add("tel").value = phone
    if card.note:
        component.add("note").value = card.note
    if card.groups:
        component.add("categories").value = list(card.groups)
    return component.serialize()
