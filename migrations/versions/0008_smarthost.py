"""Smarthost (Admin → Server → Smarthost): host, port, TLS mode and user name beside the
other server settings; the password, sealed by the privileged helper, in the private
database (core/db.py), where no Postfix lookup reads.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PRIVATE = "private"
COLUMNS = (
    sa.Column("smarthost_host", sa.String(253), nullable=False, server_default=""),
    sa.Column("smarthost_port", sa.Integer, nullable=False, server_default="587"),
    sa.Column("smarthost_tls", sa.String(16), nullable=False, server_default="starttls"),
    sa.Column("smarthost_username", sa.String(255), nullable=False, server_default=""),
)


def upgrade() -> None:
    for column in COLUMNS:
        op.add_column("server_settings", column)
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=PRIVATE,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"PRAGMA {PRIVATE}.secure_delete = ON")
    op.drop_table("server_secrets", schema=PRIVATE)
    with op.batch_alter_table("server_settings") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
