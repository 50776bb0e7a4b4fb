"""Server settings (Admin → Server): message size, queue lifetime, always-Bcc, HELO, relay.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_size_mb", sa.Integer, nullable=False),
        sa.Column("queue_lifetime_days", sa.Integer, nullable=False),
        sa.Column("always_bcc", sa.String(320), nullable=False),
        sa.Column("helo_name", sa.String(253), nullable=False),
        sa.Column("relay_networks", sa.Text, nullable=False),
        sa.Column("relay_trusted_networks", sa.Boolean, nullable=False),
        sa.Column("auth_on_port_25", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("server_settings")
