"""Trusted senders: remote content always shown for these senders.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trusted_senders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True),
                  server_default=sa.func.current_timestamp()),
        sa.UniqueConstraint("address", "sender"),
    )
    op.create_index("ix_trusted_senders_address", "trusted_senders", ["address"])


def downgrade() -> None:
    op.drop_table("trusted_senders")
