"""The mail server's own settings (Admin → Server), one row that the stack renders into Postfix.

The stack reads this row when it renders main.cf (stack/postfix_settings.py) and the
services change it (core/services/server/settings.py); both import it from here, so
neither imports the other. Values are stored normalised: the services parse and check
what people type before anything is written.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import PRIVATE

from .base import Base, utcnow

ROW_ID = 1
DEFAULT_QUEUE_DAYS = 4
# Rspamd scans messages up to its max_message (50 MiB by default) and the disclaimer
# filter takes up to 64 MiB: a larger limit would let mail pass unscanned or stick.
MAX_MESSAGE_SIZE_MB = 50
MAX_QUEUE_DAYS = 30
# The smarthost's TLS: none, STARTTLS (RFC 3207), or TLS from the first byte (RFC 8314).
SMARTHOST_TLS = ("none", "starttls", "ssl")
DEFAULT_SMARTHOST_PORT = 587
# The private row holding the smarthost's password, sealed by the privileged helper.
SMARTHOST_PASSWORD = "smarthost_password"


class ServerSettings(Base):
    """Message size and queue lifetime, global always-Bcc, HELO name, relay exceptions,
    smarthost; Dovecot's deleted-to-Trash, unencrypted sign-in and master user; attachments
    Rspamd rejects; antivirus."""

    __tablename__ = "server_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_size_mb: Mapped[int]
    queue_lifetime_days: Mapped[int]
    always_bcc: Mapped[str] = mapped_column(String(320))  # '' for none
    helo_name: Mapped[str] = mapped_column(String(253))  # '' for the server's own name
    relay_networks: Mapped[str] = mapped_column(Text)  # IPv4 addresses or networks, one a line
    relay_trusted_networks: Mapped[bool]
    auth_on_port_25: Mapped[bool]
    # The smarthost all mail for other domains goes through; '' for none (0008).
    smarthost_host: Mapped[str] = mapped_column(String(253), default="")
    smarthost_port: Mapped[int] = mapped_column(default=DEFAULT_SMARTHOST_PORT)
    smarthost_tls: Mapped[str] = mapped_column(String(16), default="starttls")
    smarthost_username: Mapped[str] = mapped_column(String(255), default="")
    # Dovecot (0010): an expunged message outside Trash goes to Trash first (lazy_expunge);
    # a password over an unencrypted connection from outside loopback is accepted.
    deleted_to_trash: Mapped[bool] = mapped_column(default=False, server_default=false())
    allow_unencrypted: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Rspamd (0011): attachments rejected by content (stack/attachments.py): two classes and
    # a comma-separated list of the detector's type names ('' for none).
    block_executables: Mapped[bool] = mapped_column(default=False, server_default=false())
    block_archives: Mapped[bool] = mapped_column(default=False, server_default=false())
    block_types: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Rspamd asks clamd about every message (0012). On for a new server (defaults()); a row
    # saved before 0012 gets off, until an admin turns it on (and clamd answers then).
    antivirus: Mapped[bool] = mapped_column(default=True, server_default=false())
    # Master user (0013): IMAP and POP3 accept ADDRESS*root with the master password.
    master_user: Mapped[bool] = mapped_column(default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)

    @classmethod
    def defaults(cls, message_size_mb: int) -> ServerSettings:
        """An unsaved row with Postfix's strict defaults and the configured message size."""
        return cls(id=ROW_ID, message_size_mb=message_size_mb, queue_lifetime_days=DEFAULT_QUEUE_DAYS,
                   always_bcc="", helo_name="", relay_networks="", relay_trusted_networks=False,
                   auth_on_port_25=False, smarthost_host="", smarthost_port=DEFAULT_SMARTHOST_PORT,
                   smarthost_tls="starttls", smarthost_username="", deleted_to_trash=False,
                   allow_unencrypted=False, antivirus=True, master_user=False,
                   block_executables=False, block_archives=False, block_types="")

    def networks(self) -> list[str]:
        """The relay networks as a list, e.g. ['192.168.1.20', '10.0.5.0/24']."""
        return self.relay_networks.split()

    def types(self) -> list[str]:
        """The blocked attachment types beyond the two classes, e.g. ['pdf', 'png']."""
        return [name for name in self.block_types.split(",") if name]

    def values(self) -> dict:
        """The settings as plain values (the audit log, the CLI's JSON)."""
        return {"message_size_mb": self.message_size_mb, "queue_lifetime_days": self.queue_lifetime_days,
                "always_bcc": self.always_bcc, "helo_name": self.helo_name,
                "relay_networks": self.networks(), "relay_trusted_networks": self.relay_trusted_networks,
                "auth_on_port_25": self.auth_on_port_25, "smarthost_host": self.smarthost_host,
                "smarthost_port": self.smarthost_port, "smarthost_tls": self.smarthost_tls,
                "smarthost_username": self.smarthost_username,
                "deleted_to_trash": self.deleted_to_trash, "allow_unencrypted": self.allow_unencrypted,
                "block_executables": self.block_executables, "block_archives": self.block_archives,
                "block_types": self.types(), "antivirus": self.antivirus, "master_user": self.master_user}


def server_settings(db: Session, default_size_mb: int) -> ServerSettings:
    """The stored settings, or the defaults while nothing is saved (the message size then
    being DEFAULT_SIZE_MB, MAILROOM_MESSAGE_SIZE_LIMIT_MB)."""
    return db.get(ServerSettings, ROW_ID) or ServerSettings.defaults(default_size_mb)


class ServerSecret(Base):
    """A server secret sealed by the privileged helper with a key only root reads
    (stack/secretfiles.py): the web app stores and passes on the blob, never opens it.

    In the private database (core/db.py): no Postfix lookup can reach it.
    """

    __tablename__ = "server_secrets"
    __table_args__ = {"schema": PRIVATE}

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


def sealed_secret(db: Session, name: str) -> bytes | None:
    """The sealed secret NAME, or None when none is stored."""
    row = db.get(ServerSecret, name)
    return row.sealed if row else None


def store_secret(db: Session, name: str, sealed: bytes | None) -> None:
    """Store the sealed secret NAME, or remove it (None); the caller commits."""
    row = db.get(ServerSecret, name)
    if sealed is None:
        if row is not None:
            db.delete(row)
    elif row is None:
        db.add(ServerSecret(name=name, sealed=sealed))
    else:
        row.sealed = sealed


# The master user's name: IMAP and POP3 logins `ADDRESS*root` (Dovecot's
# auth_master_user_separator) open ADDRESS's mailbox with the master password.
MASTER_NAME = "root"
MASTER_SEPARATOR = "*"


class MasterCredential(Base):
    """The master password's hash (BLF-CRYPT), read by Dovecot's master passdb.

    In the private database (core/db.py): no Postfix lookup can reach it.
    """

    __tablename__ = "master_credentials"
    __table_args__ = {"schema": PRIVATE}

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


def master_login(address: str) -> str:
    """The IMAP/POP3 login name that opens ADDRESS's mailbox as the master user.

    >>> master_login("anna@example.test")
    'anna@example.test*root'
    """
    return f"{address}{MASTER_SEPARATOR}{MASTER_NAME}"
