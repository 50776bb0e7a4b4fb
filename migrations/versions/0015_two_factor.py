"""Two-factor sign-in: TOTP secrets, recovery codes, app passwords (private), and the
domains' "require two-factor sign-in".

Dovecot's passdbs read private.two_factor (the main password is refused over IMAP,
POP3, ManageSieve and SMTP AUTH once it is on) and private.app_passwords; each app
password row of a web session goes with that session (ON DELETE CASCADE).

Revision ID: 0015
Revises: 0013 (another change may take 0014: re-chain on merge)
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

PRIVATE = "private"


def _created():
    return sa.Column("created_at", sa.DateTime(timezone=True),
                     server_default=sa.func.current_timestamp())


def upgrade() -> None:
    op.add_column("domains", sa.Column("require_two_factor", sa.Boolean, nullable=False,
                                       server_default=sa.false()))
    op.create_table(
        "two_factor",
        sa.Column("address", sa.String(320), primary_key=True),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.Column("last_step", sa.Integer, nullable=False),
        _created(),
        schema=PRIVATE,
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(320), nullable=False, index=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        schema=PRIVATE,
    )
    op.create_table(
        "app_passwords",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(320), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("selector", sa.String(8), nullable=False),
        sa.Column("password_hash", sa.String(100), nullable=False),
        sa.Column("web_session_id", sa.String(64),
                  sa.ForeignKey(f"{PRIVATE}.web_sessions.id", ondelete="CASCADE"), unique=True),
        sa.Column("scheduled_id", sa.Integer, unique=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_ip", sa.String(64)),
        _created(),
        sa.UniqueConstraint("address", "selector"),
        schema=PRIVATE,
    )


def downgrade() -> None:
    for table in ("app_passwords", "recovery_codes", "two_factor"):
        op.drop_table(table, schema=PRIVATE)
    with op.batch_alter_table("domains") as batch:
        batch.drop_column("require_two_factor")
