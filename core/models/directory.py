"""Directory users (MAILROOM_ACCOUNT_PROVIDER=ldap): what Mailroom keeps about them.

Keyed by the directory's stable id (entryUUID, or MAILROOM_LDAP_ID_ATTR), never by the
address: a renamed person keeps their settings, and a new person given a removed
person's address inherits nothing.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Address, Base


class DirectorySettings(Base):
    """Mailroom's own settings of one directory user; Dovecot's userdb reads quota, Junk
    retention, forwarding and "spam to Junk" by the id its LDAP userdb found
    (dovecot-directory-sql.conf.ext). The personal ones mirror a Mailbox's columns of the
    same names, so the portal's services work on either (core/services/personal/holder.py)."""

    __tablename__ = "directory_settings"

    directory_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    quota_mb: Mapped[int | None] = mapped_column(Integer)
    junk_days: Mapped[int | None] = mapped_column(Integer)
    forward_address: Mapped[str | None] = mapped_column(Address)
    forward_keep_copy: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    spam_to_junk: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # Administers the domain of their address.
    domain_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class DirectoryPerson(Base):
    """The worker's record of one id: the address it last had (and its extra addresses,
    separated by spaces), when, whether the last read of the directory found it, and the
    size of its mail folder once it is orphaned (FOLDER_BYTES is None while the person is
    present or has no folder)."""

    __tablename__ = "directory_people"

    directory_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), default="", index=True)
    extra_addresses: Mapped[str] = mapped_column(Text, default="", server_default="")
    last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    present: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    folder_bytes: Mapped[int | None] = mapped_column(BigInteger)
