"""Shared mailboxes, owned by groups whose members get full IMAP rights.

Owners are Mailroom's groups (ACL entry `group=NAME`) and, with
MAILROOM_ACCOUNT_PROVIDER=ldap, groups of the directory, kept by name and granted as
`group=ldap:NAME`: Dovecot's userdb gives a directory user their groups with that
prefix (stack/directory_groups.py), so a Mailroom group and a directory group of the
same name never stand for each other. A Mailroom group name has no colon.
"""
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


DIRECTORY_PREFIX = "ldap:"


def directory_acl_name(name: str) -> str:
    """The ACL group name of the directory group NAME, e.g. 'ldap:staff'."""
    return DIRECTORY_PREFIX + name


class SharedDirectoryOwner(Base):
    """A directory group owning a shared mailbox, by the group's (lower-case) name."""

    __tablename__ = "shared_directory_owners"

    shared_mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("shared_mailboxes.id", ondelete="CASCADE"), primary_key=True)
    group_name: Mapped[str] = mapped_column(String(64), primary_key=True)


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
    directory_owners: Mapped[list[SharedDirectoryOwner]] = relationship(
        cascade="all, delete-orphan", order_by=SharedDirectoryOwner.group_name)

    def acl_owners(self) -> list[str]:
        """Every owner as its ACL group name: Mailroom's groups, then the directory's."""
        return sorted(g.name for g in self.owners) + [
            directory_acl_name(o.group_name) for o in self.directory_owners]


def shared_addresses(session: Session) -> list[str]:
    """Every shared mailbox's address."""
    return list(session.scalars(select(SharedMailbox.address).order_by(SharedMailbox.address)))


def owning_groups(session: Session, address: str) -> list[str] | None:
    """The ACL names of the groups owning the shared mailbox at ADDRESS (directory groups
    as 'ldap:NAME'); None if there is none."""
    box = session.scalar(select(SharedMailbox).where(SharedMailbox.address == address))
    return None if box is None else box.acl_owners()
