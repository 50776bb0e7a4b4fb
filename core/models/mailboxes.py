"""User mailboxes: the accounts people sign in with."""
from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Address, Base, Timestamped
from .domains import Domain


class Mailbox(Timestamped, Base):
    """A user mailbox; Dovecot's passdb/userdb and Postfix read this table live."""

    __tablename__ = "mailboxes"
    __table_args__ = (UniqueConstraint("domain_id", "local_part"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="RESTRICT"))
    local_part: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(Address, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    quota_mb: Mapped[int | None] = mapped_column(Integer)
    junk_days: Mapped[int | None] = mapped_column(Integer)
    forward_address: Mapped[str | None] = mapped_column(Address)
    forward_keep_copy: Mapped[bool] = mapped_column(Boolean, default=True)
    # Read by Dovecot's userdb: a global before-script files `X-Spam: Yes` into Junk.
    spam_to_junk: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")

    domain: Mapped[Domain] = relationship()
