"""Spam filter rules by mail address: Block From, Allow From, Allow To."""
from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Timestamped

BLOCK_FROM = "block_from"
ALLOW_FROM = "allow_from"
ALLOW_TO = "allow_to"
RULE_KINDS = (BLOCK_FROM, ALLOW_FROM, ALLOW_TO)


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
