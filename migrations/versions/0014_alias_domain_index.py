"""An index on aliases.domain_id: the admin's domain list counts each page's aliases, and
the alias list filters by domain, by this column; the unique (local_part, domain_id)
cannot serve either (measured at 100,000 aliases on PostgreSQL, bench.scale: the
aliases of one domain 224 ms without it).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_aliases_domain_id", "aliases", ["domain_id"])


def downgrade() -> None:
    op.drop_index("ix_aliases_domain_id", table_name="aliases")
