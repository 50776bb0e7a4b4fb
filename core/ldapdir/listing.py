"""The admin's read-only view of the directory: one page of users, one user, the groups.

Every search is bounded: at most LIMIT entries are read (paged results underneath,
abandoned once enough have come), so a directory of 100,000 people costs the admin page
what LIMIT of them cost; past it the page says to narrow the filter. A domain admin's
searches only ask for addresses in their domains (the filter, not a check afterwards).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

from ldap3 import Connection
from ldap3.core.exceptions import LDAPException, LDAPInvalidFilterError, LDAPInvalidValueError
from ldap3.utils.conv import escape_filter_chars

from core.services.paging import Page, page_of_list

from .client import SIMPLE_ALIAS, DirectoryUser, _all, _first, _search, _user, connect
from .people import GROUP_NAME_ATTR, DirectoryUnavailable
from .presets import Schema, schema_from_config

LIMIT = 2000  # entries one search reads at most


@dataclass(frozen=True)
class Listed:
    """A directory user with the names of their groups (only the groups of a page's people)."""

    user: DirectoryUser
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class PeoplePage:
    """One page of the matching users; TRUNCATED when more than LIMIT matched."""

    page: Page
    truncated: bool


@dataclass(frozen=True)
class Group:
    """A directory group and the addresses of its members the caller may see."""

    name: str
    members: list[str]


def _scope(schema: Schema, domains: frozenset[str] | None) -> str:
    """The filter of addresses in DOMAINS (None: every address)."""
    if domains is None:
        return ""
    return "(|" + "".join(f"({schema.mail_attr}=*@{escape_filter_chars(d)})" for d in sorted(domains)) + ")"


def _text(schema: Schema, text: str) -> str:
    """The filter of users whose address or name contains TEXT ('' for none)."""
    text = text.strip()
    if not text:
        return ""
    wanted = escape_filter_chars(text)
    return f"(|({schema.mail_attr}=*{wanted}*)({schema.name_attr}=*{wanted}*))"


class _Reader:
    """A bound connection and the schema, for one request's searches."""

    def __init__(self, cfg: dict) -> None:
        self.cfg, self.schema = cfg, schema_from_config(cfg)
        self.alias = SIMPLE_ALIAS.match(self.schema.alias_filter)
        self.base = str(cfg["LDAP_USER_BASE"])
        self.conn: Connection | None = None

    def __enter__(self) -> "_Reader":
        try:
            self.conn = connect(self.cfg)
        except LDAPException as exc:
            raise DirectoryUnavailable(f"the directory cannot be read: {exc}") from exc
        return self

    def __exit__(self, kind, exc, trace) -> None:
        if self.conn is not None:
            self.conn.unbind()
        if isinstance(exc, LDAPException):
            raise DirectoryUnavailable(f"searching the directory failed: {exc}") from exc

    def search(self, base: str, query: str, attributes: list[str]) -> list[dict]:
        """At most LIMIT + 1 entries (one more tells that there were more); none when a
        value in QUERY does not fit its attribute's syntax (ldap3 checks it against the
        directory's schema: an id that is no UUID matches nobody)."""
        try:
            return list(islice(_search(self.conn, base, query, attributes), LIMIT + 1))
        except (LDAPInvalidValueError, LDAPInvalidFilterError):
            return []

    def users(self, extra: str) -> tuple[list[tuple[str, DirectoryUser]], bool]:
        """(dn, user) of the users matching EXTRA too, by address; whether LIMIT cut them."""
        schema = self.schema
        attributes = [schema.mail_attr, schema.name_attr, schema.id_attr,
                      *([self.alias.group(1)] if self.alias else [])]
        entries = self.search(self.base, f"(&{schema.users}{extra})", attributes)
        disabled = {e["dn"].lower() for e in
                    self.search(self.base, f"(&{schema.users}{schema.disabled_filter}{extra})", [])}
        found = [(e["dn"], _user(e, schema, self.alias, e["dn"].lower() not in disabled))
                 for e in entries[:LIMIT]]
        return sorted(found, key=lambda pair: pair[1].address), len(entries) > LIMIT

    def groups(self, members_of: list[str] | None = None) -> list[tuple[str, list[str]]]:
        """(name, member DNs) of the groups (with a member among MEMBERS_OF, if given)."""
        schema = self.schema
        query = schema.group_filter
        if members_of is not None:
            if not members_of:
                return []
            query = (f"(&{query}(|" + "".join(f"({schema.member_attr}={escape_filter_chars(dn)})"
                                               for dn in members_of) + "))")
        entries = self.search(str(self.cfg["LDAP_GROUP_BASE"] or self.base), query,
                              [GROUP_NAME_ATTR, schema.member_attr])
        return [(_first(e.get("attributes", {}), GROUP_NAME_ATTR),
                 [str(dn).lower() for dn in _all(e.get("attributes", {}), schema.member_attr)])
                for e in entries[:LIMIT]]


def _with_groups(reader: _Reader, people: list[tuple[str, DirectoryUser]]) -> list[Listed]:
    """PEOPLE with the names of their groups (one search for all of them)."""
    groups = reader.groups([dn for dn, _ in people])
    return [Listed(user, tuple(sorted(name for name, members in groups if dn.lower() in members)))
            for dn, user in people]


def people_page(cfg: dict, domains: frozenset[str] | None, text: str, page: int,
                per_page: int = 50) -> PeoplePage:
    """Page PAGE of the users in DOMAINS (None: all) whose address or name contains TEXT."""
    with _Reader(cfg) as reader:
        people, truncated = reader.users(_scope(reader.schema, domains) + _text(reader.schema, text))
        cut = page_of_list(people, page, per_page)
        listed = _with_groups(reader, cut.rows)
    return PeoplePage(Page(listed, cut.total, cut.page, cut.per_page), truncated)


def person(cfg: dict, directory_id: str) -> Listed | None:
    """The user whose stable id is DIRECTORY_ID, None when the directory has nobody with it."""
    with _Reader(cfg) as reader:
        people, _ = reader.users(f"({reader.schema.id_attr}={escape_filter_chars(directory_id)})")
        return _with_groups(reader, people[:1])[0] if people else None


def user_at(cfg: dict, address: str) -> DirectoryUser | None:
    """The user whose address is ADDRESS now, enabled or not (None: nobody)."""
    with _Reader(cfg) as reader:
        people, _ = reader.users(f"({reader.schema.mail_attr}={escape_filter_chars(address)})")
        return people[0][1] if people else None


def address_id(cfg: dict, address: str) -> str | None:
    """The stable id of the user whose address is ADDRESS now (None: nobody)."""
    found = user_at(cfg, address)
    return found.id if found else None


def groups(cfg: dict, domains: frozenset[str] | None) -> tuple[list[Group], bool]:
    """Every group (by name) with its members' addresses in DOMAINS (None: all); a domain
    admin sees only groups with a member in their domains. Whether LIMIT cut the users."""
    with _Reader(cfg) as reader:
        people, truncated = reader.users(_scope(reader.schema, domains))
        addresses = {dn.lower(): user.address for dn, user in people}
        found = reader.groups()
    shown = [Group(name, sorted(addresses[dn] for dn in members if dn in addresses))
             for name, members in found if name]
    if domains is not None:
        shown = [group for group in shown if group.members]
    return sorted(shown, key=lambda g: g.name.lower()), truncated
