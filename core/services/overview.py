"""Read-only summaries of the directory for the admin pages."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Alias, Domain, Mailbox

from .roles import Roles


@dataclass(frozen=True)
class DomainRow:
    """One domain with its counts, e.g. DomainRow('example.test', 'deliver', 3, 1)."""

    name: str
    mode: str
    mailboxes: int
    aliases: int


@dataclass(frozen=True)
class DirectorySummary:
    """The domains a caller may see, with totals."""

    domains: list[DomainRow]

    @property
    def mailboxes(self) -> int:
        """Mailboxes on the visible domains."""
        return sum(d.mailboxes for d in self.domains)

    @property
    def aliases(self) -> int:
        """Aliases bound to the visible domains."""
        return sum(d.aliases for d in self.domains)


def directory_summary(db: Session, roles: Roles) -> DirectorySummary:
    """Domains visible under ROLES with their mailbox and alias counts."""
    mailbox_counts = (select(Mailbox.domain_id, func.count().label("n"))
                      .group_by(Mailbox.domain_id).subquery())
    alias_counts = (select(Alias.domain_id, func.count().label("n"))
                    .group_by(Alias.domain_id).subquery())
    query = (
        select(Domain.name, Domain.mode,
               func.coalesce(mailbox_counts.c.n, 0), func.coalesce(alias_counts.c.n, 0))
        .outerjoin(mailbox_counts, mailbox_counts.c.domain_id == Domain.id)
        .outerjoin(alias_counts, alias_counts.c.domain_id == Domain.id)
        .order_by(Domain.name)
    )
    if not roles.server:
        query = query.where(Domain.name.in_(roles.domains))
    return DirectorySummary([DomainRow(*row) for row in db.execute(query)])
