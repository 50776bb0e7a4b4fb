"""Directory (LDAP/AD) groups as owners of shared mailboxes, by the group's name.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shared_directory_owners",
        sa.Column("shared_mailbox_id", sa.Integer,
                  sa.ForeignKey("shared_mailboxes.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("group_name", sa.String(64), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("shared_directory_owners")
