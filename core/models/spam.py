"""The spam filter as stored: thresholds, and Block From / Allow From / Allow To rules.

The stack renders Rspamd's files from what this module reads and the services change
it; both import it from here, so neither imports the other.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .admin import Setting
from .base import Base, Timestamped

BLOCK_FROM = "block_from"
ALLOW_FROM = "allow_from"
ALLOW_TO = "allow_to"
RULE_KINDS = (BLOCK_FROM, ALLOW_FROM, ALLOW_TO)
SETTINGS_KEY = "spam_filter"


class SpamRule(Timestamped, Base):
    """One address (a@b.example) or whole domain (b.example) on one of the three lists.

    The service layer normalises VALUE (lower case, IDNA domain) before storing it;
    Rspamd reads the lists as maps rendered from these rows.
    """

    __tablename__ = "spam_rules"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))


@dataclass(frozen=True)
class FilterSettings:
    """Score thresholds (None: that action is off) and the optional subject prefix."""

    greylist: float | None = 4.0
    spam: float | None = 6.0
    reject: float | None = 15.0
    subject_prefix: str = ""

    def rspamd_actions(self) -> dict[str, float | None]:
        """Rspamd's action thresholds for these settings, keyed as GET /actions names them."""
        prefix = bool(self.subject_prefix)
        return {"greylist": self.greylist, "add header": None if prefix else self.spam,
                "rewrite subject": self.spam if prefix else None, "reject": self.reject}


def filter_settings(db: Session) -> FilterSettings:
    """The stored settings, or the defaults (Rspamd's own: 4 / 6 / 15)."""
    row = db.get(Setting, SETTINGS_KEY)
    if row is None:
        return FilterSettings()
    try:
        data = json.loads(row.value)
        return FilterSettings(**{k: data[k] for k in FilterSettings.__dataclass_fields__ if k in data})
    except (ValueError, TypeError):
        return FilterSettings()


def map_contents(db: Session) -> dict[str, str]:
    """The text of each Rspamd map file, e.g. {'block_from_domain': 'spam.example\\n', ...}."""
    contents = {f"{kind}{suffix}": [] for kind in RULE_KINDS for suffix in ("", "_domain")}
    for rule in db.scalars(select(SpamRule).order_by(SpamRule.value)):
        suffix = "" if "@" in rule.value else "_domain"
        contents[f"{rule.kind}{suffix}"].append(rule.value)
    return {name: "".join(f"{value}\n" for value in values) for name, values in contents.items()}
