"""The whole local stack on a PostgreSQL directory: Postfix delivers and Dovecot signs in
from it, through the daemons' read-only roles (stack/pgsql.py)."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import ProgrammingError

from core.config import load_config
from core.db import Database
from core.mail.errors import AuthenticationFailed
from core.services.directory import aliases, lookup
from stack import pgsql, postgres
from stack.layout import Layout
from tests.conftest import HS_CACHE, PORT_KEYS, copy_hyperscan, free_ports
from tests.helpers import PASSWORD, imap_login, wait_for_subject
from tests.integration.admin_support import send_inbound
from tests.integration.pg_support import role_url
from tests.integration.secrets_support import world_readable_secrets


@pytest.fixture(scope="module")
def pg_stack():
    """A stack started with MAILROOM_DATABASE=postgresql: it runs its own PostgreSQL."""
    from stack import down, up

    base = Path(tempfile.mkdtemp(prefix="mr-pgs-", dir="/tmp"))
    base.chmod(0o755)
    overrides = {"DATA_DIR": str(base / "data"), "ENV": "testing", "DATABASE": "postgresql",
                 **dict(zip(PORT_KEYS, free_ports(len(PORT_KEYS))))}
    layout = Layout.from_config(load_config(overrides, environ={}))
    copy_hyperscan(HS_CACHE, layout.lib / "rspamd")
    try:
        list(up(load_config(overrides, environ={})))
        cfg = load_config(overrides, environ={})  # now with the generated passwords
        yield cfg, postgres.local_cluster(cfg, layout)
    finally:
        lines = down(load_config(overrides, environ={}))
        assert "postgresql: stopped" in lines
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def people(pg_stack):
    """Mailboxes ann and bo and an alias team -> ann, bo on pg.test, in PostgreSQL."""
    cfg, _ = pg_stack
    database = Database()
    database.configure(cfg["DATABASE_URL"])
    with database.transaction() as session:
        lookup.add_domain(session, "pg.test")
        for person in ("ann", "bo"):
            lookup.add_mailbox(session, f"{person}@pg.test", PASSWORD)
        aliases.create_alias(session, "test", "team@pg.test", ["ann@pg.test", "bo@pg.test"])
    database.engine.dispose()
    return cfg


def test_postfix_delivers_to_a_mailbox_and_an_alias_read_from_postgresql(people):
    send_inbound(people, "ann@pg.test", "pg-direct")
    wait_for_subject(people, "ann@pg.test", "pg-direct")
    send_inbound(people, "team@pg.test", "pg-alias")
    wait_for_subject(people, "ann@pg.test", "pg-alias")
    wait_for_subject(people, "bo@pg.test", "pg-alias")


def test_the_daemons_configs_name_postgresql(people):
    etc = Path(people["STACK_DIR"]) / "etc"
    assert "pgsql:" in (etc / "postfix" / "main.cf").read_text()
    assert "driver = pgsql" in (etc / "dovecot" / "dovecot-passdb.conf.ext").read_text()
    assert not (Path(people["DATA_DIR"]) / "db").exists()  # no SQLite file was made


def test_no_rendered_config_that_holds_a_database_password_is_world_readable(people):
    """dovecot-sql.conf.ext and its siblings name PostgreSQL with a password (0640 dovecot)."""
    held = world_readable_secrets(people)
    assert held == {}, held


def test_postfix_role_cannot_read_password_hashes(pg_stack, people):
    cfg, cluster = pg_stack
    password = (Path(cfg["DATA_DIR"]) / "secrets" / "postgres_postfix_password").read_text().strip()
    engine = create_engine(role_url(cluster, pgsql.POSTFIX_ROLE, password, "mailroom"))
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM mailboxes").scalar() == 2
            with pytest.raises(ProgrammingError, match="permission denied"):
                connection.exec_driver_sql("SELECT password_hash FROM private.credentials")
    finally:
        engine.dispose()


def test_status_reports_the_local_postgresql(pg_stack):
    from stack.status import status

    cfg, cluster = pg_stack
    found = {s.name: s for s in status(cfg)}["postgresql"]
    assert (found.port, found.answers) == (cluster.port, True) and found.pid


def test_up_again_leaves_the_cluster_and_the_roles_working(pg_stack, people):
    from stack import up

    cfg, cluster = pg_stack
    lines = list(up(cfg))
    assert not any(line.startswith("postgresql:") for line in lines)  # neither made nor started
    assert postgres.running(cluster)
    send_inbound(people, "team@pg.test", "pg-again")
    wait_for_subject(people, "bo@pg.test", "pg-again")


def test_dovecot_signs_in_from_postgresql(people):
    imap_login(people, "bo@pg.test").logout()
    with pytest.raises(AuthenticationFailed):  # last: Dovecot's auth penalty follows a failure
        imap_login(people, "bo@pg.test", "not the password")
