"""The vacation reply: a block of the rule builder's script, answered by Pigeonhole's vacation.

Pigeonhole replies once per sender per interval and never to mailing lists, bulk mail
or automatic messages (RFC 5230); the reply leaves through the stack's own SMTP port.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.mail.sieve import SieveStore
from core.mail.sieve_rules import RuleSet, Vacation
from core.models import TO_MAILBOX, Alias, AliasDestination, Domain, Mailbox
from core.services.directory import directory_users

from . import filters
from .validation import InvalidField, one_line, plain_text, whole_number

MESSAGE_LIMIT = 8 * 1024  # bytes of reply text; a reply is a note, not a newsletter
SUBJECT_LIMIT = 200
# Pigeonhole caps the interval at sieve_vacation_max_period (90 days by default).
MAX_DAYS = 90
DEFAULT = Vacation(enabled=False, subject=_l("Out of office"), message="", days=7)


def current(state: filters.Filters) -> Vacation:
    """The vacation reply in the builder's script, or an empty one switched off."""
    if state.ruleset and state.ruleset.vacation:
        return state.ruleset.vacation
    return replace(DEFAULT, subject=str(DEFAULT.subject))  # in the person's language


def own_addresses(db: Session, address: str) -> list[str]:
    """ADDRESS and the aliases that deliver to its mailbox, or a directory user's extra
    addresses (their replies may answer for them)."""
    rows = db.execute(
        select(Alias.local_part, Domain.name)
        .join(AliasDestination, AliasDestination.alias_id == Alias.id)
        .join(Mailbox, AliasDestination.mailbox_id == Mailbox.id)
        .outerjoin(Domain, Alias.domain_id == Domain.id)
        .where(Mailbox.address == address, AliasDestination.kind == TO_MAILBOX)
    ).all()
    own_domain = address.rpartition("@")[2]
    aliases = {f"{local}@{domain or own_domain}" for local, domain in rows}
    aliases.update(directory_users.extra_addresses(db, address))
    return [address, *sorted(aliases - {address})]


def check(form: dict, allowed: list[str]) -> Vacation:
    """The vacation settings of FORM checked; InvalidField names the first wrong field."""
    enabled = bool(form.get("enabled"))
    subject = one_line(form.get("subject", ""))
    if not subject:
        raise InvalidField("subject", _l("The reply needs a subject."))
    if len(subject) > SUBJECT_LIMIT:
        raise InvalidField("subject", _l('The subject is %(subject)s characters; the limit is '
                                         '%(subject_limit)s.',
                                         subject=len(subject), subject_limit=SUBJECT_LIMIT))
    message = plain_text("message", form.get("message", ""), _l("The reply message"), MESSAGE_LIMIT,
                         required=enabled)
    days = whole_number("days", form.get("days", ""), "The interval", 1, MAX_DAYS)
    start, end = _day("start", form.get("start")), _day("end", form.get("end"))
    if start and end and end < start:
        raise InvalidField("end", _l("The last day comes before the first day."))
    chosen = [a for a in form.get("addresses", []) if a]
    unknown = [a for a in chosen if a not in allowed]
    if unknown:
        raise InvalidField("addresses", _l('%(unknown)s is not one of your addresses.', unknown=unknown[0]))
    return Vacation(enabled, subject, message, days, chosen, start, end)


def _day(field: str, text: str | None) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidField(field, _l("Write the day as YYYY-MM-DD.")) from exc


def save(store: SieveStore, state: filters.Filters, vacation: Vacation,
         confirmed: bool = False) -> None:
    """Write VACATION into the builder's script, keeping the rules as they are.

    Switching the reply on makes the builder's script active (after confirmation when
    another program's script is); switching it off never activates anything.
    """
    ruleset = state.ruleset if state.ruleset is not None else RuleSet()
    filters.save(store, state, replace(ruleset, vacation=vacation), confirmed,
                 switch=vacation.enabled)
