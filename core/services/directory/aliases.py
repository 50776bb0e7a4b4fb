"""Aliases: an address on one domain or on every domain, with destinations of three kinds.

Postfix reads them live (stack/templates/postfix/maps/aliases.cf): a real mailbox
first maps to itself, then a domain's own alias, then an alias valid on every domain,
then the domain's catch-all. The loop check below follows the same order.
"""
from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from core.i18n import lazy_gettext as _l
from core.models import (
    DELIVER, TO_EXTERNAL, TO_MAILBOX, TO_SHARED, Alias, AliasDestination, Domain, InvalidName,
    Mailbox, SharedMailbox, normalize_address,
)
from core.services.access import audit
from core.services.access.roles import Roles
from core.services.errors import AlreadyExists, InvalidInput, NotFound
from core.services.paging import Page, page_of

from . import lookup

EVERY_DOMAIN = "*"
KIND_NAMES = {TO_MAILBOX: "mailbox", TO_SHARED: "shared mailbox", TO_EXTERNAL: "external address"}
# Postfix stops expanding after this many levels anyway; deeper chains are refused.
MAX_DEPTH = 20


def snapshot(alias: Alias) -> dict:
    """What the audit log keeps of an alias."""
    return {"address": alias.address, "local_only": alias.local_only,
            "destinations": [d.target for d in alias.destinations]}


def parse_address(db: Session, text: str) -> tuple[str, Domain | None]:
    """(local part, domain) of `local@domain`, or (local part, None) for `local@*`."""
    local, sep, domain_name = (text or "").strip().rpartition("@")
    if not sep or not local:
        raise InvalidInput(_l('“%(text)s” is not an alias address: write local@domain, or local@* '
                              'for every domain.', text=text))
    try:
        local = normalize_address(f"{local}@example.test").partition("@")[0]
    except InvalidName as exc:
        raise InvalidInput(_l('“%(local)s” cannot be the part before the @ of an address.',
                              local=local)) from exc
    if domain_name.strip() == EVERY_DOMAIN:
        return local, None
    return local, lookup.get_domain(db, domain_name)


def get_alias(db: Session, alias_id: int) -> Alias:
    """The alias with ALIAS_ID; NotFound otherwise."""
    alias = db.get(Alias, alias_id)
    if alias is None:
        raise NotFound(_l("There is no such alias."))
    return alias


def find_alias(db: Session, text: str) -> Alias:
    """The alias written as TEXT (`local@domain` or `local@*`); NotFound otherwise."""
    local, domain = parse_address(db, text)
    alias = db.scalar(select(Alias).where(
        Alias.local_part == local,
        Alias.domain_id == domain.id if domain else Alias.domain_id.is_(None)))
    if alias is None:
        raise NotFound(_l('There is no alias %(text)s.', text=text.strip()))
    return alias


def list_aliases(db: Session, roles: Roles, domain: str = "") -> list[Alias]:
    """Aliases visible under ROLES (domain admins: their domains only), by address."""
    return list(db.scalars(alias_query(roles, domain)))


def page_of_aliases(db: Session, roles: Roles, domain: str = "", page: int = 1) -> Page:
    """Page PAGE of list_aliases' result, cut by the database."""
    return page_of(db, alias_query(roles, domain), page)


def alias_query(roles: Roles, domain: str = "") -> Select:
    """The query of list_aliases: those on every domain first, then by domain and local part."""
    # Each row shows its domain and its destinations' addresses: loaded with the page, not
    # one query per alias (at 100,000 aliases on PostgreSQL that was 200 ms a page).
    query = (select(Alias).outerjoin(Domain, Alias.domain_id == Domain.id)
             .options(contains_eager(Alias.domain),
                      selectinload(Alias.destinations).options(selectinload(AliasDestination.mailbox),
                                                               selectinload(AliasDestination.shared_mailbox))))
    if not roles.server:
        query = query.where(Domain.name.in_(roles.domains))
    if domain == EVERY_DOMAIN:
        query = query.where(Alias.domain_id.is_(None))
    elif domain:
        query = query.where(Domain.name == domain)
    return query.order_by(Domain.name.is_not(None), Domain.name, Alias.local_part)


def create_alias(db: Session, actor: str, address: str, destinations: list,
                 local_only: bool = False) -> Alias:
    """Create an alias delivering to DESTINATIONS (addresses, or (kind, address) pairs)."""
    local, domain = parse_address(db, address)
    _check_free(db, local, domain)
    alias = Alias(local_part=local, domain_id=domain.id if domain else None,
                  local_only=local_only)
    alias.domain = domain
    _set_destinations(db, alias, destinations)
    db.add(alias)
    db.flush()
    check_loops(db, alias)
    check_destinations_exist(db, alias)
    check_local_only(db, alias)
    audit.record(db, actor, "create", "alias", alias.address,
                 domain=domain.name if domain else None, after=snapshot(alias))
    return alias


def update_alias(db: Session, actor: str, alias: Alias, destinations: list,
                 local_only: bool) -> Alias:
    """Replace ALIAS's destinations and its local-network-only flag."""
    before = snapshot(alias)
    alias.local_only = local_only
    alias.destinations.clear()
    db.flush()
    _set_destinations(db, alias, destinations)
    db.flush()
    check_loops(db, alias)
    check_destinations_exist(db, alias)
    check_local_only(db, alias)
    audit.record(db, actor, "update", "alias", alias.address, domain=_domain_of(alias),
                 before=before, after=snapshot(alias))
    return alias


def delete_alias(db: Session, actor: str, alias: Alias) -> None:
    """Remove ALIAS; mail to it is refused from then on (or taken by a catch-all)."""
    audit.record(db, actor, "delete", "alias", alias.address, domain=_domain_of(alias),
                 before=snapshot(alias))
    db.delete(alias)
    db.flush()


def _domain_of(alias: Alias) -> str | None:
    return alias.domain.name if alias.domain else None


def _check_free(db: Session, local: str, domain: Domain | None) -> None:
    """Refuse an alias that already exists, or that a mailbox's address would hide."""
    same = Alias.domain_id == domain.id if domain else Alias.domain_id.is_(None)
    if db.scalar(select(Alias.id).where(Alias.local_part == local, same)):
        shown = f"{local}@{domain.name if domain else EVERY_DOMAIN}"
        raise AlreadyExists(_l('The alias %(shown)s exists already: edit it instead.', shown=shown))
    if domain is None:
        return
    address = f"{local}@{domain.name}"
    taken = db.scalar(select(Mailbox.id).where(Mailbox.address == address)) or db.scalar(
        select(SharedMailbox.id).where(SharedMailbox.address == address))
    if taken:
        raise AlreadyExists(_l('%(address)s is a mailbox already: choose another alias address.',
                               address=address))


def _set_destinations(db: Session, alias: Alias, items: list) -> None:
    """Parse, de-duplicate and classify ITEMS as ALIAS's destinations.

    An item is an address (its kind is looked up) or a (kind, address) pair chosen by
    the admin: an external address may well be a mailbox on another domain here.
    """
    seen: dict[str, str | None] = {}
    for item in items:
        kind, text = item if isinstance(item, tuple) else (None, item)
        if not text.strip():
            continue
        try:
            target = normalize_address(text)
        except InvalidName as exc:
            raise InvalidInput(_l('Destination “%(text)s” is not an e-mail address.',
                                  text=text.strip())) from exc
        seen.setdefault(target, kind)
    if not seen:
        raise InvalidInput(_l("An alias needs at least one destination: a mailbox, a shared "
                           "mailbox or an external address."))
    for target, kind in seen.items():
        alias.destinations.append(destination_for(db, target, kind))


def destination_for(db: Session, target: str, kind: str | None = None) -> AliasDestination:
    """A destination of KIND for the address TARGET (KIND None: whatever TARGET is here)."""
    if kind in (None, TO_MAILBOX):
        mailbox = db.scalar(select(Mailbox).where(Mailbox.address == target))
        if mailbox:
            return AliasDestination(kind=TO_MAILBOX, mailbox=mailbox)
        if kind:
            raise InvalidInput(_l('%(target)s is not a mailbox here: list it under external '
                                  'addresses, or create the mailbox first.', target=target))
    if kind in (None, TO_SHARED):
        shared = db.scalar(select(SharedMailbox).where(SharedMailbox.address == target))
        if shared:
            return AliasDestination(kind=TO_SHARED, shared_mailbox=shared)
        if kind:
            raise InvalidInput(_l('%(target)s is not a shared mailbox here: create it first, or '
                                  'list it under another kind.', target=target))
    return AliasDestination(kind=TO_EXTERNAL, address=target)


def aliases_named(db: Session, address: str) -> list[Alias]:
    """The alias Postfix uses for ADDRESS: the domain's own, else one on every domain."""
    local, _, domain_name = address.partition("@")
    domain_id = db.scalar(select(Domain.id).where(Domain.name == domain_name))
    if domain_id is None:
        return []
    for same in (Alias.domain_id == domain_id, Alias.domain_id.is_(None)):
        alias = db.scalar(select(Alias).where(Alias.local_part == local, same))
        if alias is not None:
            return [alias]
    return []


def next_hops(db: Session, address: str) -> list[str]:
    """Where Postfix's virtual alias maps send ADDRESS next; [] when it is delivered or leaves."""
    domain_name = address.partition("@")[2]
    domain = db.scalar(select(Domain).where(Domain.name == domain_name, Domain.mode == DELIVER))
    if domain is None or lookup.address_is_mailbox(db, address):
        return []
    named = aliases_named(db, address)
    if named:
        return [d.target for d in named[0].destinations]
    return [domain.catchall_address] if domain.catchall_address else []


def find_cycle(db: Session, start: str) -> list[str] | None:
    """A chain of addresses from START that comes back to an address on it, if any."""
    finished: set[str] = set()

    def walk(address: str, path: list[str]) -> list[str] | None:
        if address in path:
            return path[path.index(address):] + [address]
        if address in finished:
            return None
        if len(path) > MAX_DEPTH:
            return path + [address]
        for hop in next_hops(db, address):
            cycle = walk(hop, path + [address])
            if cycle:
                return cycle
        finished.add(address)
        return None

    return walk(start, [])


def check_loops(db: Session, alias: Alias) -> None:
    """Refuse ALIAS when mail to it would come back to it (after the change is flushed)."""
    if alias.domain is not None:
        starts = [f"{alias.local_part}@{alias.domain.name}"]
    else:
        names = db.scalars(select(Domain.name).where(Domain.mode == DELIVER))
        starts = [f"{alias.local_part}@{name}" for name in names]
    for start in starts:
        cycle = find_cycle(db, start)
        if cycle:
            raise InvalidInput(_l('These destinations make a loop: %(cycle)s. Remove the '
                                  'destination that leads back, or change the alias it goes '
                                  'through.', cycle=" → ".join(cycle)))


def check_destinations_exist(db: Session, alias: Alias) -> None:
    """Refuse a destination on a domain delivered here that names nothing here.

    Postfix would accept the alias and bounce its mail later. A catch-all does not
    count: it would take the mail only by accident, and stop when it is removed.
    """
    for target in (d.target for d in alias.destinations if d.kind == TO_EXTERNAL):
        local, _, domain_name = target.partition("@")
        domain = db.scalar(select(Domain).where(Domain.name == domain_name,
                                                Domain.mode == DELIVER))
        if domain is None or lookup.address_in_use(db, target):
            continue
        catch_all = (_l(' For now only the catch-all %(catchall_address)s would take its mail: '
                        'name %(catchall_address)s if that is what you mean.',
                        catchall_address=domain.catchall_address)
                     if domain.catchall_address else "")
        raise InvalidInput(_l('%(target)s does not exist here: %(domain_name)s is delivered by '
                              'this server and has no mailbox, shared mailbox or alias %(local)s@. '
                              'Create it first, or correct the address.%(catch_all)s',
                              target=target, domain_name=domain_name, local=local, catch_all=catch_all))


# "Local network only" (Postfix's check_recipient_access) applies to the address the
# sender typed, before alias expansion and before a forwarding Sieve redirect: an
# address open to anyone that leads to a local-only alias would open it too. Every
# path from outside into the local-only aliases has a first step from an open
# address, so refusing that one step everywhere closes them all.
LOCAL_ONLY_TEXT = (_l("{target} accepts mail from the local network only: {what} would let anyone "
                   "outside reach it. Give {what_short} the destinations of {target} instead."))


def local_only_alias(db: Session, address: str) -> Alias | None:
    """The local-network-only alias that ADDRESS names, if it names one."""
    named = aliases_named(db, address)
    return named[0] if named and named[0].local_only else None


def check_local_only(db: Session, alias: Alias) -> None:
    """Refuse an open ALIAS leading to a local-only one, or a local-only ALIAS that open
    aliases, forwardings, catch-alls or always-Bcc addresses lead to."""
    if not alias.local_only:
        for target in (d.target for d in alias.destinations if d.kind == TO_EXTERNAL):
            if local_only_alias(db, target):
                raise InvalidInput(LOCAL_ONLY_TEXT.format(
                    target=target, what=f"the alias {alias.address}", what_short="it"))
        return
    openings = sorted({opening for address in _addresses_of(db, alias)
                       for opening in _open_ways_to(db, address)})
    if openings:
        raise InvalidInput(_l('%(address)s cannot be for the local network only while these lead '
                              'to it from anywhere: %(openings)s. Change them first.',
                              address=alias.address, openings=', '.join(map(str, openings))))


def _addresses_of(db: Session, alias: Alias) -> list[str]:
    if alias.domain is not None:
        return [alias.address]
    return [f"{alias.local_part}@{name}" for name in db.scalars(select(Domain.name))]


def _open_ways_to(db: Session, address: str) -> list[str]:
    """Open aliases, forwarding mailboxes and domains (catch-all, always-Bcc) leading to ADDRESS."""
    found = [a.address for a in aliases_pointing_to(db, address) if not a.local_only]
    found += [f"forwarding of {m}" for m in db.scalars(
        select(Mailbox.address).where(Mailbox.forward_address == address))]
    found += [_l('catch-all or copy address of %(d)s', d=d) for d in db.scalars(select(Domain.name).where(
        or_(Domain.catchall_address == address, Domain.bcc_address == address)))]
    return found


def aliases_pointing_to(db: Session, address: str) -> list[Alias]:
    """Aliases that deliver to ADDRESS (to show what a deletion affects)."""
    return list(db.scalars(
        select(Alias).join(AliasDestination, AliasDestination.alias_id == Alias.id)
        .outerjoin(Mailbox, AliasDestination.mailbox_id == Mailbox.id)
        .outerjoin(SharedMailbox, AliasDestination.shared_mailbox_id == SharedMailbox.id)
        .where(or_(Mailbox.address == address, SharedMailbox.address == address,
                   AliasDestination.address == address))
        .distinct()))


def drop_empty(db: Session, actor: str) -> list[str]:
    """Delete aliases left without any destination (after a mailbox went); return them."""
    empty = db.scalars(select(Alias).where(~Alias.destinations.any())).all()
    for alias in empty:
        # The database's ON DELETE CASCADE removed the rows; forget the loaded copies.
        db.expire(alias, ["destinations"])
        audit.record(db, actor, "delete", "alias", alias.address, domain=_domain_of(alias),
                     before={"address": alias.address, "destinations": []})
        db.delete(alias)
    db.flush()
    return [a.address for a in empty]
