"""Mail domains: delivered locally or relayed to another server."""
from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Address, Base, DomainName, Timestamped

DELIVER = "deliver"
RELAY = "relay"


class Domain(Timestamped, Base):
    """A domain the server accepts mail for."""

    __tablename__ = "domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(DomainName, unique=True)
    mode: Mapped[str] = mapped_column(String(16), default=DELIVER)
    relay_host: Mapped[str | None] = mapped_column(String(253))
    relay_port: Mapped[int | None] = mapped_column(Integer)
    bcc_address: Mapped[str | None] = mapped_column(Address)
    catchall_address: Mapped[str | None] = mapped_column(Address)
    dkim_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disclaimer_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disclaimer_markdown: Mapped[str] = mapped_column(Text, default="")
    # A person of the domain without two-factor sign-in is sent to set it up first.
    require_two_factor: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    @property
    def unicode_name(self) -> str:
        """The name as people write it (IDNA decoded)."""
        try:
            return self.name.encode("ascii").decode("idna")
        except UnicodeError:
            return self.name
