"""Per-person preferences of the webmail, keyed by address."""
from __future__ import annotations

from sqlalchemy import Boolean, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Address, Base, Timestamped


class SenderChoice(Timestamped):
    """Something a person (address) chose about one sender, once per pair."""

    __table_args__ = (UniqueConstraint("address", "sender"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(Address, index=True)
    sender: Mapped[str] = mapped_column(String(320))


class TrustedSender(SenderChoice, Base):
    """A sender whose remote images and styles someone chose to always show."""

    __tablename__ = "trusted_senders"


class IdentitySettings(Timestamped, Base):
    """What a person chose for one address they send as (name, Reply-To, Bcc, signature).

    Keyed by the address only: whether they may still send as it is decided anew
    each time (core.services.mail.identities), so a removed alias leaves a row that
    is simply not offered.
    """

    __tablename__ = "identity_settings"
    __table_args__ = (UniqueConstraint("address", "sender"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(Address, index=True)
    sender: Mapped[str] = mapped_column(Address)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    reply_to: Mapped[str] = mapped_column(String(320), default="")
    bcc: Mapped[str] = mapped_column(String(320), default="")
    signature: Mapped[str] = mapped_column(Text, default="")
    signature_markdown: Mapped[bool] = mapped_column(Boolean, default=False)


class MailPreferences(Base):
    """A person's webmail choices: the default identity, where the signature goes, the list view,
    new-mail notifications, the language of the pages."""

    __tablename__ = "mail_preferences"

    address: Mapped[str] = mapped_column(Address, primary_key=True)
    default_sender: Mapped[str] = mapped_column(String(320), default="")
    signature_above_quote: Mapped[bool] = mapped_column(Boolean, default=False)
    conversations: Mapped[bool] = mapped_column(Boolean, default=False)  # else one row per message
    notifications: Mapped[bool] = mapped_column(Boolean, default=False)  # new-mail notifications
    language: Mapped[str] = mapped_column(String(8), default="")  # "" follows the browser


class NotificationFolder(Base):
    """A folder besides the INBOX whose new mail a person is told about."""

    __tablename__ = "notification_folders"
    __table_args__ = (UniqueConstraint("address", "folder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(Address, index=True)
    folder: Mapped[str] = mapped_column(String(500))


class ReceiptRefusal(SenderChoice, Base):
    """A sender whose read-receipt requests someone chose never to be asked about."""

    __tablename__ = "receipt_refusals"
