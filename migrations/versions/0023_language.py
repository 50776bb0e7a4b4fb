"""The language each person reads Mailroom in ("" follows the browser).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("mail_preferences", sa.Column("language", sa.String(8), nullable=False,
                                                server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("mail_preferences") as batch:
        batch.drop_column("language")
