"""Antivirus (ClamAV through Rspamd) as a server setting.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A server that saved its settings before this revision keeps mail flowing as it did:
    # scanning stays off until an admin turns it on (which checks that clamd answers).
    # A server with no saved row gets the model's default, on.
    op.add_column("server_settings", sa.Column("antivirus", sa.Boolean, nullable=False,
                                               server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("server_settings") as batch:
        batch.drop_column("antivirus")
