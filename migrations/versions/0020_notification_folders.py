"""Folders besides the INBOX whose new mail a person is told about.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_folders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("folder", sa.String(500), nullable=False),
        sa.UniqueConstraint("address", "folder"),
    )
    op.create_index("ix_notification_folders_address", "notification_folders", ["address"])


def downgrade() -> None:
    op.drop_table("notification_folders")
