"""Shared mailboxes, owned by groups whose members get full IMAP rights."""
from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import Address, Base, Timestamped
from .domains import Domain
from .groups import Group

shared_mailbox_owners = Table(
    "shared_mailbox_owners",
    Base.metadata,
    Column(
        "shared_mailbox_id",
        ForeignKey("shared_mailboxes.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("group_id", ForeignKey("groups.id", ondelete="RESTRICT"), primary_key=True),
)


class SharedMailbox(Timestamped, Base):
    """A mailbox nobody logs in to; its owning groups read it through the shared namespace."""

    __tablename__ = "shared_mailboxes"
    __table_args__ = (UniqueConstraint("domain_id", "local_part"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="RESTRICT"))
    local_part: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(Address, unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")

    domain: Mapped[Domain] = relationship()
    owners: Mapped[list[Group]] = relationship(secondary=shared_mailbox_owners)


def shared_addresses(session: Session) -> list[str]:
    """Every shared mailbox's address."""
    return list(session.scalars(select(SharedMailbox.address).order_by(SharedMailbox.address)))


def owning_groups(session: Session, address: str) -> list[str] | None:
    """The names of the groups owning the shared mailbox at ADDRESS; None if there is none."""
    box = session.scalar(select(SharedMailbox).where(SharedMailbox.address == address))
    return None if box is None else sorted(g.name for g in box.owners)
