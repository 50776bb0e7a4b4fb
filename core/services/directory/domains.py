"""Domains: local delivery or relay, always-Bcc, catch-all, domain admins, deletion.

Postfix reads every column used here on each message (stack/templates/postfix/maps),
so a change is live for the next message without a reload.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.models import (
    DELIVER, RELAY, Alias, Domain, Mailbox, SharedMailbox,
)
from core.services.access import audit
from core.services.access.roles import Roles
from core.services.errors import InvalidInput
from core.services.paging import Page, page_of
from core.services.server import jobs

from . import aliases, lookup, mailboxes

HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOSTNAME = re.compile(rf"^{HOST_LABEL}(?:\.{HOST_LABEL})*$")
MODES = {DELIVER: _l("Deliver to mailboxes here"), RELAY: _l("Relay to another mail server")}


def snapshot(domain: Domain) -> dict:
    """What the audit log keeps of a domain."""
    return {"mode": domain.mode, "relay": relay_text(domain),
            "bcc": domain.bcc_address, "catch_all": domain.catchall_address}


def relay_text(domain: Domain) -> str | None:
    """The relay host as `host:port`, or None."""
    if not domain.relay_host:
        return None
    return f"{domain.relay_host}:{domain.relay_port or 25}"


@dataclass(frozen=True)
class DomainRow:
    """A domain with its counts, for the list page."""

    domain: Domain
    mailboxes: int
    aliases: int
    shared: int


def list_domains(db: Session, roles: Roles) -> list[DomainRow]:
    """Domains visible under ROLES, by name, with mailbox, alias and shared-mailbox counts."""
    return _with_counts(db, list(db.scalars(_domain_query(roles))))


def page_of_domains(db: Session, roles: Roles, page: int = 1) -> Page:
    """Page PAGE of list_domains' result: the page's domains, counted for them alone."""
    found = page_of(db, _domain_query(roles), page)
    return replace(found, rows=_with_counts(db, found.rows))


def _domain_query(roles: Roles) -> Select:
    query = select(Domain).order_by(Domain.name)
    return query if roles.server else query.where(Domain.name.in_(roles.domains))


def _with_counts(db: Session, found: list[Domain]) -> list[DomainRow]:
    """FOUND with their mailbox, alias and shared-mailbox counts (one query per kind)."""
    ids = [d.id for d in found]
    counts = {model: dict(db.execute(select(model.domain_id, func.count())
                                     .where(model.domain_id.in_(ids))
                                     .group_by(model.domain_id)).all())
              for model in (Mailbox, Alias, SharedMailbox)}
    return [DomainRow(d, counts[Mailbox].get(d.id, 0), counts[Alias].get(d.id, 0),
                      counts[SharedMailbox].get(d.id, 0)) for d in found]


def visible_names(db: Session, roles: Roles, limit: int | None = None) -> list[str]:
    """Names of the domains an admin sees (for filters and choices), the first LIMIT."""
    query = select(Domain.name).order_by(Domain.name).limit(limit)
    if not roles.server:
        query = query.where(Domain.name.in_(roles.domains))
    return list(db.scalars(query))


def create_domain(db: Session, actor: str, name: str) -> Domain:
    """Add a domain delivered to local mailboxes."""
    domain = lookup.add_domain(db, name)
    audit.record(db, actor, "create", "domain", domain.name, domain=domain.name,
                 after=snapshot(domain))
    return domain


def parse_relay(text: str) -> tuple[str, int]:
    """(host, port) of `host` or `host:port`; a bare host means port 25."""
    host, sep, port_text = (text or "").strip().lower().rpartition(":")
    if not sep:
        host, port_text = port_text, "25"
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # Postfix's "no MX lookup" brackets: we always add them
    try:
        port = int(port_text)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise InvalidInput(_l('“%(text)s”: the relay port must be a number from 1 to 65535, as in '
                              'mail.example.org:25.', text=text))
    if not _is_host(host):
        raise InvalidInput(_l('“%(text)s”: write the relay as a host name or IPv4 address with an '
                              'optional port, as in mail.example.org:25.', text=text))
    return host, port


def _is_host(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 4
    except ValueError:
        return bool(HOSTNAME.match(host)) and len(host) <= 253


def update_domain(db: Session, actor: str, domain: Domain, *, mode: str, relay: str = "",
                  bcc: str = "", catch_all: str = "") -> Domain:
    """Set DOMAIN's delivery mode, relay host, always-Bcc address and catch-all."""
    before = snapshot(domain)
    if mode not in MODES:
        raise InvalidInput(_l("Choose local delivery or relay."))
    domain.mode = mode
    if mode == RELAY:
        if not relay.strip():
            raise InvalidInput(_l("A relay domain needs the host that takes its mail, "
                               "as in mail.example.org:25."))
        domain.relay_host, domain.relay_port = parse_relay(relay)
    else:
        domain.relay_host = domain.relay_port = None
    domain.bcc_address = _optional_address(bcc, _l("Always send a copy to"))
    domain.catchall_address = _optional_address(catch_all, _l("Catch-all"))
    db.flush()
    if domain.bcc_address and not reachable(db, domain.bcc_address):
        raise InvalidInput(_l('The copy address %(bcc_address)s does not exist here: create that '
                              'mailbox first, or use another address.', bcc_address=domain.bcc_address))
    for target, what in ((domain.bcc_address, _l("copying all mail to it")),
                         (domain.catchall_address, _l("a catch-all to it"))):
        if target and aliases.local_only_alias(db, target):
            raise InvalidInput(aliases.LOCAL_ONLY_TEXT.format(target=target, what=what,
                                                              what_short="this domain"))
    _check_catch_all(db, domain)
    audit.record(db, actor, "update", "domain", domain.name, domain=domain.name,
                 before=before, after=snapshot(domain))
    return domain


def require_two_factor(db: Session, actor: str, domain: Domain, required: bool) -> Domain:
    """Require (or stop requiring) two-factor sign-in of DOMAIN's people: one without it is
    sent to set it up at their next request, and cannot turn it off."""
    before = {"require_two_factor": domain.require_two_factor}
    domain.require_two_factor = required
    db.flush()
    audit.record(db, actor, "update", "domain", domain.name, domain=domain.name,
                 before=before, after={"require_two_factor": required})
    return domain


def _optional_address(text: str, label: str) -> str | None:
    if not (text or "").strip():
        return None
    try:
        return lookup.valid_address(text)
    except InvalidInput as exc:
        raise InvalidInput(f"{label}: {exc}") from exc


def _check_catch_all(db: Session, domain: Domain) -> None:
    """A catch-all must reach a real mailbox or leave the server, never loop back."""
    target = domain.catchall_address
    if not target:
        return
    if target.endswith("@" + domain.name) and not lookup.address_is_mailbox(db, target) \
            and not aliases.aliases_named(db, target):
        raise InvalidInput(_l('The catch-all %(target)s does not exist here: create that mailbox '
                              'first, or choose an existing one.', target=target))
    cycle = aliases.find_cycle(db, target)
    if cycle:
        raise InvalidInput(_l('The catch-all would loop: %(cycle)s. Point it at an existing '
                              'mailbox.', cycle=" → ".join(cycle)))
    if not reachable(db, target):
        raise InvalidInput(_l('The catch-all %(target)s does not exist here: create that mailbox '
                              'first, or choose an existing one.', target=target))


def reachable(db: Session, address: str) -> bool:
    """False for an unknown address on a domain delivered here (Postfix would refuse it)."""
    local_domain = db.scalar(select(Domain.id).where(
        Domain.name == address.partition("@")[2], Domain.mode == DELIVER))
    return not local_domain or lookup.address_is_mailbox(db, address) \
        or bool(aliases.next_hops(db, address))


@dataclass(frozen=True)
class DomainContents:
    """What deleting a domain removes from the directory (its stored mail goes to the archive)."""

    mailboxes: list[str]
    shared: list[str]
    aliases: list[str]


def contents(db: Session, domain: Domain) -> DomainContents:
    """The directory entries of DOMAIN."""
    return DomainContents(
        list(db.scalars(select(Mailbox.address).where(Mailbox.domain_id == domain.id)
                        .order_by(Mailbox.address))),
        list(db.scalars(select(SharedMailbox.address).where(SharedMailbox.domain_id == domain.id)
                        .order_by(SharedMailbox.address))),
        [f"{local}@{domain.name}" for local in db.scalars(
            select(Alias.local_part).where(Alias.domain_id == domain.id).order_by(Alias.local_part))],
    )


def delete_domain(db: Session, actor: str, domain: Domain, mail_root: Path) -> DomainContents:
    """Remove DOMAIN with its mailboxes, shared mailboxes and aliases; their Maildirs under
    MAIL_ROOT go to the archive (a queued job each), never to a later owner."""
    found = contents(db, domain)
    for address in (*found.mailboxes, *found.shared):
        local = address.partition("@")[0]
        jobs.queue_mail_job(db, actor, address, domain.name, mail_root / domain.name / local,
                            erase=False)
    before = {**snapshot(domain), "mailboxes": found.mailboxes, "shared": found.shared,
              "aliases": found.aliases}
    for model in (Alias, SharedMailbox, Mailbox):
        for row in db.scalars(select(model).where(model.domain_id == domain.id)):
            db.delete(row)
    for address in (*found.mailboxes, *found.shared):  # as for one deleted mailbox
        mailboxes.forget_address(db, address)
    db.flush()
    db.delete(domain)
    db.flush()
    aliases.drop_empty(db, actor)
    audit.record(db, actor, "delete", "domain", domain.name, domain=domain.name, before=before)
    return found
