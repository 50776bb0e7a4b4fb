"""Aliases: an address on one domain (or on every domain) with one or more destinations."""
from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Address, Base, Timestamped
from .domains import Domain
from .mailboxes import Mailbox
from .shared import SharedMailbox

TO_MAILBOX = "mailbox"
TO_SHARED = "shared"
TO_EXTERNAL = "external"


class Alias(Timestamped, Base):
    """An alias; domain None means the local part is valid on every domain."""

    __tablename__ = "aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    local_part: Mapped[str] = mapped_column(String(64))
    domain_id: Mapped[int | None] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"))
    local_only: Mapped[bool] = mapped_column(Boolean, default=False)

    domain: Mapped[Domain | None] = relationship()
    destinations: Mapped[list["AliasDestination"]] = relationship(
        back_populates="alias", cascade="all, delete-orphan"
    )

    @property
    def address(self) -> str:
        """The alias as written, `local@domain` or `local@*` for every domain."""
        return f"{self.local_part}@{self.domain.name if self.domain else '*'}"


class AliasDestination(Base):
    """Where an alias delivers: a mailbox, a shared mailbox or an external address."""

    __tablename__ = "alias_destinations"

    id: Mapped[int] = mapped_column(primary_key=True)
    alias_id: Mapped[int] = mapped_column(ForeignKey("aliases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE")
    )
    shared_mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("shared_mailboxes.id", ondelete="CASCADE")
    )
    address: Mapped[str | None] = mapped_column(Address)

    alias: Mapped[Alias] = relationship(back_populates="destinations")
    mailbox: Mapped[Mailbox | None] = relationship()
    shared_mailbox: Mapped[SharedMailbox | None] = relationship()

    @property
    def target(self) -> str:
        """The address mail is handed to."""
        if self.kind == TO_MAILBOX:
            return self.mailbox.address
        if self.kind == TO_SHARED:
            return self.shared_mailbox.address
        return self.address
