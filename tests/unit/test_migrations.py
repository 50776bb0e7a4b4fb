import sqlite3

from alembic import command
from alembic.script import ScriptDirectory

from core.config import private_database
from core.db import PRIVATE, alembic_config, upgrade
from core.models import Base


def schema(path) -> sqlite3.Connection:
    """A connection to the database at PATH with its private database attached."""
    conn = sqlite3.connect(path)
    conn.execute(f"ATTACH DATABASE ? AS {PRIVATE}", (str(private_database(path)),))
    return conn


def tables(conn: sqlite3.Connection) -> set[str]:
    """Every table, those of the private database as 'private.NAME'."""
    found = {r[0] for r in conn.execute("SELECT name FROM main.sqlite_master WHERE type='table'")}
    return found | {f"{PRIVATE}.{r[0]}" for r in conn.execute(
        f"SELECT name FROM {PRIVATE}.sqlite_master WHERE type='table'")}


def test_every_migration_runs_on_an_empty_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    cfg = alembic_config(url)
    script = ScriptDirectory.from_config(cfg)
    for revision in reversed(list(script.walk_revisions())):  # oldest first, one at a time
        command.upgrade(cfg, revision.revision)
    with schema(tmp_path / "empty.db") as conn:
        found = tables(conn)
        versions = {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")}
    assert set(Base.metadata.tables) <= found
    assert versions == set(script.get_heads())


def test_migrations_match_the_models(tmp_path):
    """Every model column exists in the migrated schema with the same name."""
    upgrade(f"sqlite:///{tmp_path / 'm.db'}")
    with schema(tmp_path / "m.db") as conn:
        for table in Base.metadata.sorted_tables:
            columns = {r[1] for r in conn.execute(
                f"PRAGMA {table.schema or 'main'}.table_info({table.name})")}
            assert {c.name for c in table.columns} == columns, table.fullname


def test_downgrade_to_base_and_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    upgrade(url)


HASH = "{BLF-CRYPT}$2b$12$TheHashOfAnnsPasswordXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
SEALED = b"gAAAAA-the-sealed-credential-of-anns-session"


def test_secrets_leave_the_file_the_daemons_read(tmp_path):
    """0006: an existing database's password hashes and sealed credentials move to the
    private file, leaving no copy in the main file's pages or its WAL (which the
    daemons' group reads), and come back on a downgrade."""
    path = tmp_path / "mailroom.db"
    url = f"sqlite:///{path}"
    upgrade(url, "0005")
    keeper = sqlite3.connect(path, isolation_level=None)  # as the stack's worker: the WAL stays
    keeper.execute("PRAGMA journal_mode=WAL")
    keeper.execute("INSERT INTO domains (name) VALUES ('example.test')")
    keeper.execute("INSERT INTO mailboxes (domain_id, local_part, address, password_hash) "
                   "VALUES (1, 'ann', 'ann@example.test', ?)", (HASH,))
    keeper.execute("INSERT INTO web_sessions (id, address, sealed_credential, last_seen_at) "
                   "VALUES ('s1', 'ann@example.test', ?, '2026-12-04')", (SEALED,))
    upgrade(url)
    for name in ("mailroom.db", "mailroom.db-wal"):
        raw = (tmp_path / name).read_bytes()
        assert HASH.encode() not in raw and SEALED not in raw, name
    with schema(path) as conn:
        assert conn.execute("SELECT * FROM private.credentials").fetchall() == [
            ("ann@example.test", HASH)]
        assert conn.execute("SELECT sealed_credential FROM private.web_sessions").fetchall() == [
            (SEALED,)]
    command.downgrade(alembic_config(url), "0005")
    assert keeper.execute("SELECT password_hash FROM mailboxes").fetchall() == [(HASH,)]
    assert keeper.execute("SELECT sealed_credential FROM web_sessions").fetchall() == [(SEALED,)]
    keeper.close()
