"""PostgreSQL URLs: what migrate-to accepts and shows, and how the daemons' settings are rendered."""
from __future__ import annotations


import pytest

from core.services.server import migrate
from stack import pgsql, render
from stack.errors import StackError
from stack.layout import Layout
from stack.quoting import render_text

URL = "postgresql+psycopg://mailroom:s3cret@db.example:6543/directory"
PASSWORDS = {pgsql.POSTFIX_ROLE: "pf-0123456789abcdef", pgsql.DOVECOT_ROLE: "dc-0123456789abcdef"}


@pytest.fixture
def layout(tmp_path) -> Layout:
    return Layout(root=tmp_path / "stack", data_dir=tmp_path, database=tmp_path / "db" / "mailroom.db")


def test_passwords_are_hidden_in_what_is_shown():
    assert migrate.shown(URL) == "postgresql+psycopg://mailroom:***@db.example:6543/directory"


@pytest.mark.parametrize("url", ["sqlite:////srv/x.db", "postgresql://u@h/db", "postgresql+psycopg://u@h",
                                 "mysql+pymysql://u@h/db", "::"])
def test_migrate_to_takes_only_psycopg_urls_with_a_database(url):
    with pytest.raises(migrate.Refused, match="postgresql\\+psycopg://USER:PASSWORD@HOST:PORT/NAME"):
        migrate.target_url(url)


def test_the_daemons_reach_the_apps_server_with_their_own_roles(layout):
    values = pgsql.template_values({"DATABASE_URL": URL}, layout, PASSWORDS)
    assert values["sql_driver"] == "pgsql" and values["list_agg"] == "string_agg"
    assert values["pg_hosts"] == "inet:db.example:6543" and values["pg_dbname"] == "directory"
    assert values["pg_postfix_user"] == "mailroom_postfix"
    dovecot = "postgresql://mailroom_dovecot:dc-0123456789abcdef@db.example:6543/directory"
    assert values["sql_connect"] == values["private_sql_connect"] == dovecot
    assert "s3cret" not in repr(values)  # the app's own password never reaches a daemon


def test_a_url_without_host_or_database_is_refused_for_the_daemons(layout):
    with pytest.raises(StackError, match="over TCP"):
        pgsql.template_values({"DATABASE_URL": "postgresql+psycopg://u@/db?host=/run/pg"}, layout, PASSWORDS)


def test_a_database_name_the_grants_could_not_name_bare_is_refused(layout):
    with pytest.raises(StackError, match="lower-case letters"):
        pgsql.template_values({"DATABASE_URL": "postgresql+psycopg://u:p@h/db;drop"}, layout, PASSWORDS)


def test_a_password_with_characters_a_config_would_interpret_is_refused(layout):
    with pytest.raises(StackError, match="bare"):
        pgsql.template_values({"DATABASE_URL": URL}, layout, {**PASSWORDS, pgsql.DOVECOT_ROLE: "a b#c"})


def test_sqlite_renders_the_files_it_always_had(layout):
    values = pgsql.template_values({"DATABASE_URL": f"sqlite:///{layout.database}"}, layout, {})
    assert values == {"sql_driver": "sqlite", "list_agg": "group_concat", "sql_connect": layout.database,
                      "private_sql_connect": layout.private_database}


@pytest.mark.parametrize("driver, first", [("sqlite", "dbpath = /srv/db/mailroom.db"),
                                           ("pgsql", "hosts = inet:127.0.0.1:5432")])
def test_one_map_template_after_each_drivers_connection(layout, driver, first):
    out = next(o for o in render.outputs(layout) if o.template == "postfix/maps/aliases.cf")
    values = {"database": "/srv/db/mailroom.db", "pg_hosts": "inet:127.0.0.1:5432", "pg_dbname": "d",
              "pg_postfix_user": "mailroom_postfix", "pg_postfix_password": "pw-0123456789"}
    text = render_text(render.template_text(out, driver), values, out.syntax)
    settings = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert settings[0] == first and settings[-1].startswith("query = SELECT")
    assert (out.mode, out.group) == (0o640, "postfix")


def test_the_grants_give_postfix_nothing_private():
    statements = pgsql.grant_statements("directory", PASSWORDS)
    postfix = [s for s in statements if s.rstrip().endswith(pgsql.POSTFIX_ROLE) and s.startswith("GRANT")]
    assert postfix[0] == "GRANT CONNECT ON DATABASE directory TO mailroom_postfix"
    assert "GRANT SELECT (id, address) ON mailboxes TO mailroom_postfix" in postfix
    assert {s.split(" ON ")[1].split()[0] for s in postfix[1:]} == {
        "domains", "mailboxes", "shared_mailboxes", "aliases", "alias_destinations"}
    assert "PASSWORD 'pf-0123456789abcdef'" in " ".join(statements)
