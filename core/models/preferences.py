"""Per-person preferences of the webmail, keyed by address."""
from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Address, Base, Timestamped


class TrustedSender(Timestamped, Base):
    """A sender whose remote images and styles someone chose to always show."""

    __tablename__ = "trusted_senders"
    __table_args__ = (UniqueConstraint("address", "sender"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(Address, index=True)
    sender: Mapped[str] = mapped_column(String(320))
