"""The spam filter's settings (admin): three thresholds and rules by mail address.

Thresholds map to Rspamd's actions: greylist -> "greylist" (temporary reject),
spam -> "add header" (X-Spam: Yes), or "rewrite subject" when a subject prefix is
set, reject -> "reject". They are rendered into Rspamd's local.d/actions.conf and
Rspamd is reloaded. Rules (Block From, Allow From, Allow To, by address or whole
domain) are written as map files that Rspamd watches, so they apply to the next
message without a reload.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.mail import privileged, rspamd
from core.mail.errors import MailError
from core.models import (
    ALLOW_FROM, ALLOW_TO, BLOCK_FROM, RULE_KINDS, InvalidName, Setting, SpamRule,
    normalize_address, normalize_domain,
)
from core.models.spam import SETTINGS_KEY, FilterSettings, filter_settings
from core.services.access import audit
from core.services.errors import InvalidInput, NotFound
from core.services.server import mailstore

log = logging.getLogger(__name__)
MAX_THRESHOLD = 100.0
MAX_PREFIX = 40
RULE_LABELS = {BLOCK_FROM: "Block From", ALLOW_FROM: "Allow From", ALLOW_TO: "Allow To"}


def parse_settings(greylist: str, spam: str, reject: str, subject_prefix: str) -> FilterSettings:
    """FilterSettings from what the form sent; InvalidInput says what is wrong."""
    values = {name: _threshold(label, text) for name, label, text in (
        ("greylist", "Greylist", greylist), ("spam", "Spam", spam), ("reject", "Reject", reject))}
    chosen = [(name, value) for name, value in values.items() if value is not None]
    for (low_name, low), (high_name, high) in zip(chosen, chosen[1:]):
        if low >= high:
            raise InvalidInput(_l('The %(low_name)s threshold (%(low)s) must be below the '
                                  '%(high_name)s threshold (%(high)s).',
                                  low_name=low_name, low=f"{low:g}", high_name=high_name, high=f"{high:g}"))
    prefix = subject_prefix.strip()
    if len(prefix) > MAX_PREFIX:
        raise InvalidInput(_l('The subject prefix can be at most %(max_prefix)s characters long.',
                              max_prefix=MAX_PREFIX))
    if any(ch in prefix for ch in "%\\") or any(ord(ch) < 32 or ord(ch) == 127 for ch in prefix):
        raise InvalidInput(_l('The subject prefix cannot contain %, \\ or control characters.'))
    return FilterSettings(values["greylist"], values["spam"], values["reject"], prefix)


def settings_texts(settings: FilterSettings) -> dict[str, str]:
    """SETTINGS as typed text, the way parse_settings takes them ('' for an action that is off)."""
    def number(value: float | None) -> str:
        return "" if value is None else f"{value:g}"

    return {"greylist": number(settings.greylist), "spam": number(settings.spam),
            "reject": number(settings.reject), "subject_prefix": settings.subject_prefix}


def _threshold(label: str, text: str) -> float | None:
    """A threshold from the form: empty means off."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(_l('%(label)s: enter a score such as 6 or 7.5, or leave it empty to '
                              'turn this action off.', label=label)) from None
    if not math.isfinite(value) or not 0 < value <= MAX_THRESHOLD:
        raise InvalidInput(_l('%(label)s: the score must be above 0 and at most %(max_threshold)s.',
                              label=label, max_threshold=f"{MAX_THRESHOLD:g}"))
    return round(value, 2)


def save_settings(db: Session, settings: FilterSettings, actor: str = "") -> None:
    """Store SETTINGS (the caller commits, then applies them); audited as ACTOR's change."""
    before = asdict(filter_settings(db))
    row = db.get(Setting, SETTINGS_KEY) or Setting(key=SETTINGS_KEY, value="")
    row.value = json.dumps(asdict(settings))
    db.add(row)
    db.flush()
    if actor:
        audit.record(db, actor, "update", "spam", "thresholds", before=before,
                     after=asdict(settings))


def apply_settings(cfg: dict, settings: FilterSettings) -> None:
    """Render Rspamd's actions from the database, reload it, and check it uses them.

    Raises MailError when Rspamd cannot be reloaded or reports other thresholds.
    """
    began = time.monotonic()
    try:
        mailstore.call(cfg, "reload_rspamd")
    except privileged.Refused as exc:
        raise MailError(_l('Rspamd could not be reloaded: %(exc)s', exc=exc)) from exc
    current = rspamd.actions(rspamd.RspamdSettings.from_config(cfg))
    if any(current.get(name) != value for name, value in settings.rspamd_actions().items()):
        raise MailError(_l("Rspamd still uses other thresholds after its reload; "
                        "were they changed in Rspamd's own web interface?"))
    log.info("Rspamd runs with the new thresholds %.1f s after saving", time.monotonic() - began)


def rule_value(text: str) -> str:
    """Normalise an address (anna@example.com) or a domain (example.com, @example.com)."""
    text = text.strip()
    try:
        if "@" in text.lstrip("@"):
            return normalize_address(text)
        return normalize_domain(text.lstrip("@"))
    except InvalidName:
        raise InvalidInput(_l('“%(text)s” is neither a mail address nor a domain name.', text=text)) from None


def list_rules(db: Session) -> dict[str, list[SpamRule]]:
    """Every rule, by kind, sorted by value."""
    rules: dict[str, list[SpamRule]] = {kind: [] for kind in RULE_KINDS}
    for rule in db.scalars(select(SpamRule).order_by(SpamRule.value)):
        rules.setdefault(rule.kind, []).append(rule)
    return rules


def add_rule(db: Session, kind: str, text: str, actor: str = "") -> SpamRule:
    """Add an address or domain to the KIND list."""
    if kind not in RULE_KINDS:
        raise InvalidInput(_l("Choose Block From, Allow From or Allow To."))
    value = rule_value(text)
    if db.scalar(select(SpamRule.id).where(SpamRule.kind == kind, SpamRule.value == value)):
        raise InvalidInput(_l('%(value)s is on the %(kind)s list already.',
                              value=value, kind=RULE_LABELS[kind]))
    rule = SpamRule(kind=kind, value=value)
    db.add(rule)
    db.flush()
    if actor:
        audit.record(db, actor, "create", "spam", f"{RULE_LABELS[kind]}: {value}")
    return rule


def remove_rule(db: Session, rule_id: int, actor: str = "") -> SpamRule:
    """Remove one rule; NotFound if it is gone."""
    rule = db.get(SpamRule, rule_id)
    if rule is None:
        raise NotFound(_l("That rule does not exist (any more)."))
    db.delete(rule)
    db.flush()
    if actor:
        audit.record(db, actor, "delete", "spam", f"{RULE_LABELS[rule.kind]}: {rule.value}")
    return rule


def publish_rules(cfg: dict) -> None:
    """Have the committed rules written to the map files Rspamd watches (it rereads
    them within a second, no reload)."""
    try:
        mailstore.call(cfg, "publish_spam_rules")
    except privileged.Refused as exc:
        raise MailError(_l("Rspamd's maps could not be written: %(exc)s", exc=exc)) from exc
