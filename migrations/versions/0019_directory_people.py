"""Directory users (issue 19): Mailroom's own settings for them by stable id, and the
worker's record of each id's last known address (orphaned mail folders).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_settings",
        sa.Column("directory_id", sa.String(255), primary_key=True),
        sa.Column("quota_mb", sa.Integer, nullable=True),
        sa.Column("junk_days", sa.Integer, nullable=True),
        sa.Column("domain_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "directory_people",
        sa.Column("directory_id", sa.String(255), primary_key=True),
        sa.Column("address", sa.String(320), nullable=False, server_default="", index=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("present", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("folder_bytes", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("directory_people")
    op.drop_table("directory_settings")
