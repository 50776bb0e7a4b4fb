"""Groups of mailboxes (they own shared mailboxes; `spamtrainers` limits Bayes training)."""
from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped
from .mailboxes import Mailbox

group_members = Table(
    "group_members",
    Base.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("mailbox_id", ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True),
)


class Group(Timestamped, Base):
    """A named set of mailboxes."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)

    members: Mapped[list[Mailbox]] = relationship(secondary=group_members)
