"""The message list's view per person: messages (as before) or conversations.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("mail_preferences", sa.Column("conversations", sa.Boolean, nullable=False,
                                                server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("mail_preferences") as batch:
        batch.drop_column("conversations")
