"""How Postfix and Dovecot reach a PostgreSQL directory: their roles, grants and settings.

The app's role owns the database. The daemons get a role each that only reads:
Postfix's sees the columns its lookup tables read (column-level grants) and nothing of
the schema private (no password hash, no sealed secret); Dovecot's sees those too, plus the two
hash tables its passdbs query. Rights are granted by name, so a table added later is
invisible to both until it is granted here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.db import PRIVATE

from .errors import StackError
from .layout import Layout
from .quoting import quote

POSTFIX_ROLE, DOVECOT_ROLE = "mailroom_postfix", "mailroom_dovecot"
# The columns the rendered lookup tables (stack/templates/postfix/maps) read, and no
# other: Postfix never sees a display name, a forwarding address or a quota.
POSTFIX_COLUMNS = {
    "domains": ("id", "name", "mode", "catchall_address", "bcc_address", "relay_host", "relay_port"),
    "mailboxes": ("id", "address"),
    "shared_mailboxes": ("id", "address"),
    "aliases": ("id", "domain_id", "local_part", "local_only"),
    "alias_destinations": ("alias_id", "kind", "mailbox_id", "shared_mailbox_id", "address"),
}
# What the userdb and the deny passdb (dovecot-sql.conf.ext) read, and the hashes.
DOVECOT_TABLES = ("domains", "mailboxes", "shared_mailboxes", "settings", "groups", "group_members",
                  "directory_settings")
DOVECOT_PRIVATE_TABLES = ("credentials", "master_credentials", "two_factor", "app_passwords")
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
SECRET_FILES = {POSTFIX_ROLE: "postgres_postfix_password", DOVECOT_ROLE: "postgres_dovecot_password"}


@dataclass(frozen=True)
class Server:
    """Where the directory's PostgreSQL answers: from the app's DATABASE_URL."""

    host: str
    port: int
    dbname: str

    @classmethod
    def from_url(cls, url: str) -> "Server":
        """The server of a postgresql+psycopg URL (its user and password are the app's)."""
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        if not parsed.drivername.startswith("postgresql") or not parsed.host or not parsed.database:
            raise StackError("the daemons reach PostgreSQL over TCP: MAILROOM_DATABASE_URL needs "
                             "postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME")
        if not IDENTIFIER.match(parsed.database):
            # It is written unquoted into the grants (an SQL identifier) and the daemons' configs.
            raise StackError(f"the database name {parsed.database!r} must be lower-case letters, "
                             "digits and _ for the daemons' grants")
        return cls(parsed.host, parsed.port or 5432, parsed.database)

    def libpq_url(self, role: str, password: str) -> str:
        """A libpq connection URI for ROLE (Dovecot's connect =); the values are bare-quoted."""
        parts = [quote(v, "bare") for v in (role, password, self.host, self.port, self.dbname)]
        return "postgresql://{}:{}@{}:{}/{}".format(*parts)


def is_postgresql(cfg: dict) -> bool:
    """Whether the app's database, and so the daemons', is PostgreSQL."""
    return str(cfg["DATABASE_URL"]).startswith("postgresql")


def template_values(cfg: dict, layout: Layout, passwords: dict[str, str]) -> dict:
    """The templates' connection values: SQLite files, or PostgreSQL with the daemons' roles.

    PASSWORDS maps each daemon role to its password (PostgreSQL only).
    """
    if not is_postgresql(cfg):
        return {"sql_driver": "sqlite", "list_agg": "group_concat", "sql_connect": layout.database,
                "private_sql_connect": layout.private_database}
    server = Server.from_url(str(cfg["DATABASE_URL"]))
    dovecot = server.libpq_url(DOVECOT_ROLE, passwords[DOVECOT_ROLE])
    return {
        "sql_driver": "pgsql", "list_agg": "string_agg",
        # Dovecot's queries name private tables without a schema (as SQLite's attached file
        # is opened directly): its role's search_path finds them (grant_statements).
        "sql_connect": dovecot, "private_sql_connect": dovecot,
        "pg_hosts": f"inet:{server.host}:{server.port}", "pg_dbname": server.dbname,
        "pg_postfix_user": POSTFIX_ROLE, "pg_postfix_password": passwords[POSTFIX_ROLE],
    }


def grant_statements(dbname: str, passwords: dict[str, str]) -> list[str]:
    """SQL (run as a superuser in DBNAME) that creates or updates the daemons' roles."""
    lines = []
    for role, password in passwords.items():
        lines += [
            f"DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
            f"ALTER ROLE {role} LOGIN PASSWORD {quote(password, 'sql')}",
            f"ALTER ROLE {role} SET default_transaction_read_only = on",
            f"REVOKE ALL ON DATABASE {dbname} FROM {role}",
            f"GRANT CONNECT ON DATABASE {dbname} TO {role}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
            f"REVOKE ALL ON SCHEMA {PRIVATE} FROM {role}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {PRIVATE} FROM {role}",
        ]
    # PostgreSQL 15 grants nothing on schema public to PUBLIC but USAGE; tables need grants.
    lines += [f"GRANT SELECT ({', '.join(columns)}) ON {table} TO {POSTFIX_ROLE}"
              for table, columns in POSTFIX_COLUMNS.items()]
    lines += [f"GRANT SELECT ON {', '.join(DOVECOT_TABLES)} TO {DOVECOT_ROLE}",
              f"GRANT USAGE ON SCHEMA {PRIVATE} TO {DOVECOT_ROLE}",
              "GRANT SELECT ON " + ", ".join(f"{PRIVATE}.{t}" for t in DOVECOT_PRIVATE_TABLES)
              + f" TO {DOVECOT_ROLE}",
              f"ALTER ROLE {DOVECOT_ROLE} IN DATABASE {dbname} SET search_path = public, {PRIVATE}"]
    return lines


def grant(url: str, passwords: dict[str, str]) -> None:
    """Create or update the daemons' roles and grants, as the app's role at URL.

    The app's role owns the database and its tables; creating roles takes CREATEROLE
    (or a superuser: run grant_statements as one, and give the app's role CREATEROLE
    or nothing to do here fails).
    """
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    server = Server.from_url(url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in grant_statements(server.dbname, passwords):
                connection.exec_driver_sql(statement)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise StackError(f"cannot set up the daemons' PostgreSQL roles ({reason}): give the app's "
                         "role CREATEROLE, or run stack.pgsql.grant_statements as a superuser") from None
    finally:
        engine.dispose()
