"""Identities a person manages, their compose preferences, and read-receipt refusals.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True),
                     server_default=sa.func.current_timestamp())


def upgrade() -> None:
    op.create_table(
        "identity_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("reply_to", sa.String(320), nullable=False, server_default=""),
        sa.Column("bcc", sa.String(320), nullable=False, server_default=""),
        sa.Column("signature", sa.Text, nullable=False, server_default=""),
        sa.Column("signature_markdown", sa.Boolean, nullable=False, server_default=sa.false()),
        _created_at(),
        sa.UniqueConstraint("address", "sender"),
    )
    op.create_index("ix_identity_settings_address", "identity_settings", ["address"])
    op.create_table(
        "mail_preferences",
        sa.Column("address", sa.String(320), primary_key=True),
        sa.Column("default_sender", sa.String(320), nullable=False, server_default=""),
        sa.Column("signature_above_quote", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "receipt_refusals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("sender", sa.String(320), nullable=False),
        _created_at(),
        sa.UniqueConstraint("address", "sender"),
    )
    op.create_index("ix_receipt_refusals_address", "receipt_refusals", ["address"])


def downgrade() -> None:
    op.drop_table("receipt_refusals")
    op.drop_table("mail_preferences")
    op.drop_table("identity_settings")
