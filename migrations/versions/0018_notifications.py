"""New-mail notifications per person (off until they turn them on).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("mail_preferences", sa.Column("notifications", sa.Boolean, nullable=False,
                                                server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("mail_preferences") as batch:
        batch.drop_column("notifications")
