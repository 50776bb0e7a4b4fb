"""REST API tokens (private: hashes and sealed credentials), and the internal app
password of a token with personal scopes (app_passwords.api_token_id).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

PRIVATE = "private"


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(320), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scopes", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("sealed_credential", sa.LargeBinary),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_ip", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True),
                  server_default=sa.func.current_timestamp()),
        schema=PRIVATE,
    )
    # SQLite cannot add a UNIQUE column: the column, then a unique index.
    op.add_column("app_passwords", sa.Column("api_token_id", sa.Integer), schema=PRIVATE)
    op.create_index("ix_app_passwords_api_token_id", "app_passwords", ["api_token_id"],
                    unique=True, schema=PRIVATE)


def downgrade() -> None:
    op.drop_index("ix_app_passwords_api_token_id", "app_passwords", schema=PRIVATE)
    with op.batch_alter_table("app_passwords", schema=PRIVATE) as batch:
        batch.drop_column("api_token_id")
    op.drop_table("api_tokens", schema=PRIVATE)
