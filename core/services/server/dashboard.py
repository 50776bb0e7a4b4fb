"""The admin dashboard: every mailbox's quota use, directory counts, Postfix's queue, and
whether the virus scanner answers while antivirus is on.

Usage comes from Dovecot's quota_clone copy (stack/quota_clone.py), one query for
every mailbox, updated by Dovecot after each delivery, APPEND, COPY or expunge. A
mailbox Dovecot has not copied yet (new, or older than the copy) is measured once by
the privileged helper (doveadm `quota get`, about 2 ms a mailbox, a thousand per
request), which records it there too; if the helper does not answer, the page says
"not measured yet" for it.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, replace

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core import shared
from core.i18n import lazy_gettext as _l
from core.mail import clamd
from core.mail.errors import ServiceUnavailable
from core.models import Alias, Domain, Mailbox, SharedMailbox
from core.models.server import server_settings
from core.services.access.roles import Roles
from core.services.paging import Page, page_of, page_of_list
from stack import quota_clone
from stack.layout import Layout

from . import mailstore, queue

log = logging.getLogger(__name__)
DIRECTORY_CHECK_KEY = "directory-check"
DIRECTORY_CHECK_SECONDS = 30
QUOTA_BATCH = 1000  # mailboxes per request to the privileged helper
LIGHT_COLUMNS = (Mailbox.address, Domain.name.label("domain"), Mailbox.display_name,
                 Mailbox.enabled, Mailbox.quota_mb)
SORT_KEYS = {
    "address": lambda r: r.address,
    "used": lambda r: r.used_kb or 0,
    "limit": lambda r: r.limit_kb if r.limit_kb is not None else float("inf"),
    "percent": lambda r: r.percent,
    "messages": lambda r: r.messages or 0,
}


@dataclass(frozen=True)
class QuotaRow:
    """One mailbox's use, e.g. QuotaRow('ann@x', 'x', 'Ann', True, 2048, 1048576, 12);
    used_kb and messages are None while it was never measured."""

    address: str
    domain: str
    display_name: str
    enabled: bool
    used_kb: int | None
    limit_kb: int | None
    messages: int | None

    @property
    def percent(self) -> float:
        """Storage used as a percentage of the limit (0 when unlimited or not measured)."""
        return 100.0 * self.used_kb / self.limit_kb if self.limit_kb and self.used_kb else 0.0


def quota_page(cfg: dict, db: Session, mailboxes: Select, sort: str = "address", descending: bool = False,
               page: int = 1) -> Page:
    """Page PAGE of the storage and message counts of the MAILBOXES query, sorted by SORT.

    By address the database cuts the page. Use lives in Dovecot's copy, not in the
    directory, so to sort by use every mailbox the query finds is read as one light row
    (no objects) and sorted against the copy. Only the page's mailboxes that Dovecot
    never copied are measured (they sort as empty until then).
    """
    default_mb = int(cfg["DEFAULT_QUOTA_MB"])
    light = mailboxes.with_only_columns(*LIGHT_COLUMNS).order_by(None)
    if sort in SORT_KEYS and sort != "address":
        usage = quota_clone.read(_usage_file(cfg))
        found = [_row(mailbox, usage.get(mailbox.address), default_mb) for mailbox in db.execute(light)]
        found.sort(key=SORT_KEYS[sort], reverse=descending)
        shown = page_of_list(found, page)
    else:
        order = Mailbox.address.desc() if descending else Mailbox.address
        shown = page_of(db, light.order_by(order), page, whole_rows=True)
        usage = quota_clone.read(_usage_file(cfg), [mailbox.address for mailbox in shown.rows])
        shown = replace(shown, rows=[_row(mailbox, usage.get(mailbox.address), default_mb)
                                     for mailbox in shown.rows])
    missing = [row.address for row in shown.rows if row.messages is None]
    if missing:
        usage.update(_measure(cfg, missing))
        shown = replace(shown, rows=[replace(row, **_use(usage.get(row.address))) for row in shown.rows])
    return shown


def _usage_file(cfg: dict):
    return quota_clone.database(Layout.from_config(cfg))


def _measure(cfg: dict, addresses: list[str]) -> dict[str, tuple[int, int]]:
    """Have the privileged helper measure ADDRESSES (it records them in the copy); {}
    when it does not answer (they show as not measured yet)."""
    try:
        for start in range(0, len(addresses), QUOTA_BATCH):
            mailstore.call(cfg, "quotas", addresses=addresses[start:start + QUOTA_BATCH])
    except ServiceUnavailable as exc:
        log.warning("could not measure %d mailboxes: %s", len(addresses), exc)
        return {}
    return quota_clone.read(_usage_file(cfg), addresses)


def _row(mailbox, usage: tuple[int, int] | None, default_mb: int) -> QuotaRow:
    """A row from a LIGHT_COLUMNS row and the copy's (bytes, messages); the limit is the
    mailbox's quota (0: none)."""
    quota_mb = default_mb if mailbox.quota_mb is None else mailbox.quota_mb
    return QuotaRow(mailbox.address, mailbox.domain, mailbox.display_name, mailbox.enabled,
                    limit_kb=quota_mb * 1024 or None, **_use(usage))


def _use(usage: tuple[int, int] | None) -> dict:
    used_kb, messages = (usage[0] // 1024, usage[1]) if usage else (None, None)
    return {"used_kb": used_kb, "messages": messages}


@dataclass(frozen=True)
class Counts:
    """Directory totals the admin sees."""

    domains: int
    mailboxes: int
    aliases: int
    shared: int


def counts(db: Session, roles: Roles) -> Counts:
    """Domains, mailboxes, aliases and shared mailboxes under ROLES (domain admins: theirs)."""
    def total(model) -> int:
        query = select(func.count()).select_from(model)
        if not roles.server:
            column = model.name if model is Domain else model.domain_id
            query = query.where(column.in_(
                select(Domain.name if model is Domain else Domain.id)
                .where(Domain.name.in_(roles.domains))))
        return db.scalar(query) or 0

    return Counts(total(Domain), total(Mailbox), total(Alias), total(SharedMailbox))


def queue_counts(cfg: dict) -> dict[str, int] | None:
    """Messages in each of Postfix's queues (deferred, active, hold, ...), or None when
    Postfix (or the privileged helper, which asks it) does not answer."""
    return queue.counts(cfg)


def scanner_down(db: Session, cfg: dict) -> str | None:
    """Why the virus scanner does not answer while antivirus is on (mail then waits), e.g.
    'The virus scanner (clamd) is unreachable: no answer on 127.0.0.1:13310 (Connection
    refused)', in the reader's language; None when it answers or antivirus is off."""
    if not server_settings(db, int(cfg["MESSAGE_SIZE_LIMIT_MB"])).antivirus:
        return None
    try:
        clamd.ping(clamd.ClamdSettings.from_config(cfg))
    except ServiceUnavailable as exc:
        log.warning("dashboard: %s", exc)
        return _l("The %(service)s is unreachable: %(detail)s", service=exc.name, detail=exc.detail)
    return None


def directory_status(cfg: dict):
    """The LDAP directory's check (core.ldapdir.client.DirectoryReport: counts, or the
    problem: unreachable, bind refused, a filter that matches nobody); None without LDAP.

    Kept DIRECTORY_CHECK_SECONDS in the store every web process shares: a check counts
    every user and waits up to 5 s for a directory that does not answer, which no
    dashboard load should pay each time."""
    if cfg.get("ACCOUNT_PROVIDER") != "ldap":
        return None
    from core.ldapdir.client import DirectoryReport, check

    key = _directory_check_key(cfg)
    kept = _kept_report(shared.store().get(key))
    if kept is not None:
        return DirectoryReport(**kept)
    report = check(cfg, samples=0)
    if report.problem:
        log.warning("dashboard: %s", report.problem)
    fields = {"url": report.url, "schema": report.schema, "problem": report.problem,
              "users": report.users, "disabled": report.disabled, "groups": report.groups}
    shared.store().put(key, json.dumps(fields), DIRECTORY_CHECK_SECONDS)
    return report


def _directory_check_key(cfg: dict) -> str:
    """The store's key of a check with these settings (changed settings are checked anew).
    The bind password is among them: keyed with the secret key, so that the key gives
    nobody who reads the store a hash to guess it from."""
    settings = json.dumps({k: str(v) for k, v in cfg.items() if k.startswith("LDAP_")}, sort_keys=True)
    digest = hmac.new(str(cfg.get("SECRET_KEY") or "").encode(), settings.encode(), hashlib.sha256)
    return DIRECTORY_CHECK_KEY + ":" + digest.hexdigest()[:32]


def _kept_report(text: str | None) -> dict | None:
    """The fields of a kept check; None when there is none (or the store, down, said
    something else: core/shared.py answers a random mark then)."""
    try:
        kept = json.loads(text) if text else None
    except ValueError:
        return None
    wanted = {"url", "schema", "problem", "users", "disabled", "groups"}
    return kept if isinstance(kept, dict) and set(kept) == wanted else None
