"""User mailboxes: the accounts people sign in with, and their password hashes."""
from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import PRIVATE

from .base import Address, Base, Timestamped
from .domains import Domain


class Credential(Base):
    """A mailbox's password hash, in the private database (core/db.py): Dovecot's passdb.

    Keyed by address, the key Dovecot looks up; a credential left behind by a removal
    cut short between the two files is replaced when the address comes back (SQLite
    cannot keep a foreign key across files).
    """

    __tablename__ = "credentials"
    __table_args__ = {"schema": PRIVATE}

    address: Mapped[str] = mapped_column(Address, primary_key=True,
                                         sqlite_on_conflict_primary_key="REPLACE")
    password_hash: Mapped[str] = mapped_column(String(255))


class Mailbox(Timestamped, Base):
    """A user mailbox; Dovecot's userdb and Postfix read this table live, its password
    hash is its Credential."""

    __tablename__ = "mailboxes"
    __table_args__ = (UniqueConstraint("domain_id", "local_part"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="RESTRICT"))
    local_part: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(Address, unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    quota_mb: Mapped[int | None] = mapped_column(Integer)
    junk_days: Mapped[int | None] = mapped_column(Integer)
    forward_address: Mapped[str | None] = mapped_column(Address)
    forward_keep_copy: Mapped[bool] = mapped_column(Boolean, default=True)
    # Read by Dovecot's userdb: a global before-script files `X-Spam: Yes` into Junk.
    spam_to_junk: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # Read by Dovecot's deny passdb (0010): a protocol turned off refuses this mailbox's
    # logins over it. The webmail and the portal sign in over IMAP, so IMAP off stops them too.
    imap_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    pop3_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")

    domain: Mapped[Domain] = relationship()
    credential: Mapped[Credential | None] = relationship(
        primaryjoin="Mailbox.address == foreign(Credential.address)", cascade="all, delete-orphan")

    @property
    def password_hash(self) -> str | None:
        """The stored hash, e.g. '{BLF-CRYPT}$2b$11$...'; None if none is stored."""
        return self.credential.password_hash if self.credential else None

    @password_hash.setter
    def password_hash(self, value: str) -> None:
        if self.credential is None:
            self.credential = Credential(password_hash=value)
        else:
            self.credential.password_hash = value
