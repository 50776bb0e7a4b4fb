"""Admin roles and server-wide settings."""
from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped
from .domains import Domain
from .mailboxes import Mailbox

SERVER_ADMIN = "server"
DOMAIN_ADMIN = "domain"


class AdminRole(Timestamped, Base):
    """Makes a mailbox a server admin, or the admin of one domain."""

    __tablename__ = "admin_roles"
    __table_args__ = (UniqueConstraint("mailbox_id", "role", "domain_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    domain_id: Mapped[int | None] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"))

    mailbox: Mapped[Mailbox] = relationship()
    domain: Mapped[Domain | None] = relationship()


class Setting(Base):
    """A server setting: a key and its JSON-encoded value."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
