"""Postfix's pgsql lookup tables and Dovecot's queries, rendered for PostgreSQL, against a
directory copied there by `db migrate-to`, through the daemons' read-only roles."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.exc import ProgrammingError

from core.services.server import migrate
from stack import pgsql, render
from stack.layout import Layout
from stack.quoting import render_text
from tests.integration.pg_support import (new_database, pg_cluster, role_url,  # noqa: F401 (fixture)
                                          sqlite_directory)

PASSWORDS = {pgsql.POSTFIX_ROLE: "postfix-role-pw-0123456789", pgsql.DOVECOT_ROLE: "dovecot-role-pw-0123456789"}
PASSWORD = "correct horse battery staple 7"
DOVECOT_SQL = {f"dovecot/dovecot-{name}.conf.ext" for name in ("sql", "passdb", "master", "apppass")} | {
    "dovecot/directory/dovecot-directory-sql.conf.ext"}  # directory users' own settings (LDAP)


@pytest.fixture(scope="module")
def directory(pg_cluster):
    """A PostgreSQL directory (mailbox ann, alias team -> ann + bo) with the daemons' roles."""
    folder = Path(tempfile.mkdtemp(prefix="mr-pgmaps-", dir="/tmp"))  # Dovecot's auth reads here
    folder.chmod(0o755)
    source = sqlite_directory(f"sqlite:///{folder / 'mailroom.db'}", "pg.test", PASSWORD)
    superuser = new_database(pg_cluster)
    migrate.migrate_to(source, superuser)
    dbname = make_url(superuser).database
    engine = create_engine(superuser)
    with engine.begin() as connection:
        for statement in pgsql.grant_statements(dbname, PASSWORDS):
            connection.exec_driver_sql(statement)
    engine.dispose()
    app_url = role_url(pg_cluster, "postgres", "unused", dbname)
    layout = Layout(root=folder / "stack", data_dir=folder, database=folder / "unused.db")
    values = {**pgsql.template_values({"DATABASE_URL": app_url}, layout, PASSWORDS),
              "reject_text": render.LOCAL_ONLY_REJECT, "mail_root": "/srv/mail", "master_user_enabled": 1,
              "app_address": render.APP_ADDRESS, "web_auth_key": "a-web-key-for-the-pgsql-test"}
    etc = folder / "postfix"
    (etc / "maps").mkdir(parents=True)
    (etc / "main.cf").write_text("")
    for out in render.outputs(layout, directory=True):
        if (out.header and not out.template.startswith("postfix/ldap/")) or out.template in DOVECOT_SQL:
            target = etc / "maps" / Path(out.template).name
            target.write_text(render_text(render.template_text(out, "pgsql"), values, out.syntax))
    yield {"etc": etc, "dbname": dbname, "cluster": pg_cluster, "values": values, "superuser": superuser}
    shutil.rmtree(folder, ignore_errors=True)


# Dovecot's auth as stack/templates/dovecot/dovecot.conf sets it up (the deny passdb, the
# hashes, the userdb), with no mail service: only the SQL is under test here. base_dir
# is a folder of its own: Dovecot puts a link named dovecot.conf there.
DOVECOT_CONF = """base_dir = {run}/base
state_dir = {run}/state
instance_name = mailroom-pgsql-test
log_path = {run}/dovecot.log
protocols =
ssl = no
auth_username_format = %Lu
passdb {{
  driver = sql
  args = {etc}/dovecot-sql.conf.ext
  deny = yes
}}
passdb {{
  driver = sql
  args = {etc}/dovecot-apppass.conf.ext
}}
passdb {{
  driver = sql
  args = {etc}/dovecot-passdb.conf.ext
}}
userdb {{
  driver = sql
  args = {etc}/dovecot-sql.conf.ext
}}
"""


@pytest.fixture(scope="module")
def dovecot(directory):
    """A Dovecot reading its passdb and userdb from PostgreSQL; yields its doveadm argv."""
    run = Path(tempfile.mkdtemp(prefix="mr-dv-", dir="/tmp"))  # its users must reach it
    run.chmod(0o755)
    conf = run / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(run=run, etc=directory["etc"] / "maps"))
    subprocess.run(["dovecot", "-c", str(conf)], check=True, timeout=30, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield ["doveadm", "-c", str(conf)]
    finally:
        subprocess.run(["doveadm", "-c", str(conf), "stop"], check=False, timeout=30,
                       stdin=subprocess.DEVNULL, capture_output=True)
        shutil.rmtree(run, ignore_errors=True)


def postmap(directory, table: str, key: str) -> str | None:
    """What Postfix's own pgsql client answers for KEY in one of the rendered tables."""
    etc = directory["etc"]
    done = subprocess.run(["postmap", "-c", str(etc), "-q", key, f"pgsql:{etc / 'maps' / table}.cf"],
                          capture_output=True, text=True, check=False, timeout=30)
    assert "fatal" not in done.stderr and "warning" not in done.stderr, done.stderr
    return done.stdout.strip() if done.returncode == 0 else None


def as_role(directory, role: str, sql: str):
    """Run SQL as one of the daemons' roles, over TCP with its password."""
    engine = create_engine(role_url(directory["cluster"], role, PASSWORDS[role], directory["dbname"]))
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql(sql).all()
    finally:
        engine.dispose()


def test_postfix_resolves_mailboxes_and_aliases_from_postgresql(directory):
    assert postmap(directory, "virtual_mailbox_domains", "pg.test") == "pg.test"
    assert postmap(directory, "virtual_mailbox_maps", "ann@pg.test") == "ann@pg.test"
    assert postmap(directory, "virtual_mailbox_maps", "nobody@pg.test") is None
    assert sorted(postmap(directory, "aliases", "team@pg.test").split(",")) == ["ann@pg.test", "bo@pg.test"]
    assert sorted(postmap(directory, "sender_login", "team@pg.test").split(",")) == ["ann@pg.test", "bo@pg.test"]
    assert postmap(directory, "local_only", "team@pg.test") is None
    assert postmap(directory, "identity", "bo@pg.test") == "bo@pg.test"
    for table, key in (("catchall", "@pg.test"), ("recipient_bcc", "@pg.test"),
                       ("relay_domains", "pg.test"), ("transport", "pg.test")):
        assert postmap(directory, table, key) is None  # asked, and allowed to ask


def test_postfix_role_cannot_read_password_hashes(directory):
    with pytest.raises(ProgrammingError, match="permission denied"):
        as_role(directory, pgsql.POSTFIX_ROLE, "SELECT password_hash FROM private.credentials")
    with pytest.raises(ProgrammingError, match="permission denied"):
        as_role(directory, pgsql.POSTFIX_ROLE, "SELECT token_hash FROM password_links")
    with pytest.raises(ProgrammingError, match="permission denied"):  # only the columns it needs
        as_role(directory, pgsql.POSTFIX_ROLE, "SELECT forward_address FROM mailboxes")


def test_daemon_roles_only_read(directory):
    with pytest.raises(Exception, match="read-only transaction|permission denied"):
        as_role(directory, pgsql.DOVECOT_ROLE, "DELETE FROM private.credentials")


def test_dovecot_queries_answer_for_its_role(directory):
    """The rendered passdb/userdb queries, with %u as Dovecot fills it, as Dovecot's role."""
    def query(name: str, key: str) -> str:
        conf = (directory["etc"] / "maps" / name).read_text()
        line = next(l for l in conf.splitlines() if l.startswith(key + " = "))
        filled = line.split(" = ", 1)[1].replace("%u", "ann@pg.test").replace("%s", "imap")
        for variable, value in (("%{master_user}", ""), ("%{real_rip}", "192.0.2.1"),
                                ("%{passdb:forward_mailroom}", "")):
            filled = filled.replace(variable, value)
        return filled

    rows = as_role(directory, pgsql.DOVECOT_ROLE, query("dovecot-passdb.conf.ext", "password_query"))
    assert rows[0][0] == "ann@pg.test" and rows[0][1] and PASSWORD not in rows[0][1]
    user = as_role(directory, pgsql.DOVECOT_ROLE, query("dovecot-sql.conf.ext", "user_query"))
    assert user[0][0] == "/srv/mail/pg.test/ann"
    assert as_role(directory, pgsql.DOVECOT_ROLE, query("dovecot-sql.conf.ext", "password_query")) == []


def test_directory_users_settings_answer_by_stable_id_for_dovecots_role(directory):
    """The userdb after the LDAP one (issue 19): a row for any id the LDAP userdb found,
    with that id's own quota, Junk days and forwarding; spam to Junk unless turned off;
    none without an id."""
    line = next(l for l in (directory["etc"] / "maps" / "dovecot-directory-sql.conf.ext").read_text().splitlines()
                if l.startswith("user_query = "))

    def settings_of(directory_id: str) -> list:
        sql = line.split(" = ", 1)[1].replace("%{userdb:mailroom_directory_id}", directory_id)
        return [tuple(row) for row in as_role(directory, pgsql.DOVECOT_ROLE, sql)]

    assert settings_of("") == []
    engine = create_engine(directory["superuser"])
    with engine.begin() as connection:
        days = float(connection.exec_driver_sql(
            "SELECT value FROM settings WHERE key = 'junk_retention_days'").scalar() or 0)
        # The default quota (no rule) and the server's Junk retention.
        assert settings_of("0b6c2f8e-id") == [(None, f"{round(days * 86400)}s" if days else None, None, "yes", "yes")]
        connection.exec_driver_sql("INSERT INTO directory_settings (directory_id, quota_mb, junk_days, domain_admin, "
                                   "forward_address, forward_keep_copy, spam_to_junk) "
                                   "VALUES ('0b6c2f8e-id', 77, 2, false, 'far@away.test', false, false)")
    engine.dispose()
    assert settings_of("0b6c2f8e-id") == [("*:storage=77M", f"{2 * 86400}s", "far@away.test", "no", "no")]


def test_dovecot_signs_in_and_finds_the_user_in_postgresql(dovecot):
    def auth(address: str, password: str) -> str:
        done = subprocess.run([*dovecot, "auth", "test", address, password], capture_output=True,
                              text=True, timeout=30, check=False)
        return done.stdout + done.stderr

    assert "auth succeeded" in auth("Ann@pg.test", PASSWORD)
    user = subprocess.run([*dovecot, "user", "ann@pg.test"], capture_output=True, text=True,
                          timeout=30, check=True).stdout
    assert "/srv/mail/pg.test/ann" in user
    assert "auth failed" in auth("ann@pg.test", "not the password")  # last: the auth penalty


def test_two_factor_refuses_the_main_password_and_takes_an_app_password_on_postgresql(directory, dovecot):
    from core.services.access import app_passwords

    app_password = app_passwords.generate()
    engine = create_engine(directory["superuser"])
    rows = ("INSERT INTO private.two_factor (address, secret, confirmed_at, last_step) "
            "VALUES ('ann@pg.test', 'SECRET', now(), 0)",
            "INSERT INTO private.app_passwords (address, name, selector, password_hash) VALUES "
            f"('ann@pg.test', 'Phone', '{app_password[:4]}', '{app_passwords.dovecot_hash(app_password)}')")
    try:
        with engine.begin() as connection:
            for statement in rows:
                connection.exec_driver_sql(statement)

        def auth(password: str) -> str:
            return subprocess.run([*dovecot, "auth", "test", "-x", "service=imap", "ann@pg.test", password],
                                  capture_output=True, text=True, timeout=30, check=False).stdout
        assert "auth succeeded" in auth(app_password)
        assert "auth failed" in auth(PASSWORD)
    finally:
        with engine.begin() as connection:
            for table in ("app_passwords", "two_factor"):
                connection.exec_driver_sql(f"DELETE FROM private.{table}")
        engine.dispose()
