"""Declarative base and column types that normalise on the way in."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import DateTime, String, TypeDecorator, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


# A dot-atom (RFC 5322 3.2.3) in ASCII, without "/", "%", "{", "}" and "$": local
# parts become Maildir paths and Dovecot/Postfix lookup keys.
LOCAL_PART = re.compile(r"^[A-Za-z0-9!#&'*+=?^_`|~-]+(?:\.[A-Za-z0-9!#&'*+=?^_`|~-]+)*$")
LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class InvalidName(ValueError):
    """A domain name or address that cannot be normalised."""


def normalize_domain(name: str) -> str:
    """Lower-case, IDNA-encoded form of a domain name.

    >>> normalize_domain("Bücher.Example")
    'xn--bcher-kva.example'
    """
    name = (name or "").strip().rstrip(".").lower()
    if not name or " " in name or "@" in name:
        raise InvalidName(f"{name!r} is not a domain name")
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidName(f"{name!r} is not a valid domain name") from exc
    labels = ascii_name.split(".")
    if len(labels) < 2 or not all(LABEL.match(label) for label in labels):
        raise InvalidName(f"{name!r} is not a valid domain name")
    return ascii_name


def normalize_address(address: str) -> str:
    """Lower-cased address with an IDNA domain part.

    >>> normalize_address("Anna@Bücher.Example")
    'anna@xn--bcher-kva.example'
    """
    address = (address or "").strip()
    local, sep, domain = address.rpartition("@")
    if not sep or not LOCAL_PART.match(local):
        raise InvalidName(f"{address!r} is not an e-mail address")
    return f"{local.lower()}@{normalize_domain(domain)}"


class DomainName(TypeDecorator):
    """A domain name stored lower-cased and IDNA-encoded."""

    impl = String(253)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else normalize_domain(value)


class Address(TypeDecorator):
    """An e-mail address stored lower-cased with an IDNA domain."""

    impl = String(320)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else normalize_address(value)


class Base(DeclarativeBase):
    """Base of every model."""


class Timestamped:
    """Adds created_at."""

    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.current_timestamp()
    )
