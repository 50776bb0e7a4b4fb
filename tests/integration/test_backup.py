"""`backup create|restore` against the session's live database, restored into a DATA_DIR of its own."""
from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import stat
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from app import create_app
from core.config import load_config, private_database
from core.db import alembic_config, attach, upgrade
from core.extensions import db
from stack.layout import Layout
from tests.helpers import new_address
from tests.integration.admin_support import send_inbound, unique

DIRECTORY = {
    "domains": "SELECT name, mode FROM domains ORDER BY name",
    "mailboxes": "SELECT m.address, c.password_hash, m.enabled FROM mailboxes m "
                 "LEFT JOIN private.credentials c ON c.address = m.address ORDER BY m.address",
    "aliases": "SELECT a.local_part, d.kind, d.mailbox_id, d.address FROM aliases a "
               "JOIN alias_destinations d ON d.alias_id = a.id ORDER BY 1, 2, 3, 4",
}


def run(app, *args):
    """Run a command of APP; return (exit code, output), parsing --json output."""
    result = app.test_cli_runner().invoke(args=list(args))
    assert "Traceback" not in result.output
    ok_json = result.exit_code == 0 and "--json" in args
    return result.exit_code, json.loads(result.output) if ok_json else result.output


def directory(database: Path) -> dict:
    """The rows a restore must reproduce, password hashes from the private database."""
    connection = sqlite3.connect(database)
    attach(connection, private_database(database))
    try:
        return {name: connection.execute(sql).fetchall() for name, sql in DIRECTORY.items()}
    finally:
        connection.close()


def owner_mode(path: Path) -> tuple[str, str, int]:
    """(user, group, permission bits) of PATH."""
    st = path.stat()
    return path.owner(), path.group(), stat.S_IMODE(st.st_mode)


@pytest.fixture
def elsewhere(app):
    """An app on an empty DATA_DIR of its own, with no stack running there.

    The database extension is one object per process that each create_app binds to
    its own URL: the session app's binding is put back afterwards.
    """
    base = Path(tempfile.mkdtemp(prefix="mr-restore-", dir="/tmp"))
    base.chmod(0o755)  # the daemons' users must reach the restored database
    cfg = load_config({"DATA_DIR": str(base / "data"), "ENV": "testing"}, environ={})
    binding = db.engine, db.factory
    try:
        yield create_app(cfg), Layout.from_config(cfg)
    finally:
        db.engine.dispose()
        db.engine, db.factory = binding
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def backup_file(app, stack_db, domain):
    """A backup of the live database with a mailbox and an alias of a test's own."""
    address = new_address(stack_db, domain, "bak")
    assert run(app, "alias", "add", f"{unique('alias')}@{domain}", address, "--json")[0] == 0
    folder = Path(tempfile.mkdtemp(prefix="mr-backup-"))
    code, data = run(app, "backup", "create", str(folder / "b.tar.gz"), "--json")
    assert code == 0, data
    print(f"backup: {data['size']} bytes in {data['seconds']:.3f} s, {data['manifest']['counts']}")
    yield folder / "b.tar.gz"
    shutil.rmtree(folder, ignore_errors=True)


def rewritten(source: Path, target: Path, change) -> Path:
    """A copy of the archive SOURCE after CHANGE(members) -> [(TarInfo, bytes)] ."""
    with tarfile.open(source, "r:gz") as archive:
        members = [(m, archive.extractfile(m).read() if m.isfile() else b"")
                   for m in archive.getmembers()]
    with tarfile.open(target, "w:gz") as archive:
        for info, data in change(members):
            archive.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return target


def test_round_trip_into_an_empty_data_dir(app, mail_stack, backup_file, elsewhere):
    assert stat.S_IMODE(backup_file.stat().st_mode) == 0o600
    live = Layout.from_config(mail_stack)
    other_app, other = elsewhere
    began = time.monotonic()
    code, data = run(other_app, "backup", "restore", str(backup_file), "--json")
    print(f"restore: {time.monotonic() - began:.2f} s")
    assert code == 0, data
    assert directory(other.database) == directory(live.database)
    assert directory(other.database)["aliases"]
    names = sorted(path.name for path in live.secrets.iterdir())
    assert {"secret_key", "rspamd_password"} <= set(names) and data["secrets"] == names
    for name in names:  # other tests may have left more (demo-logins.json, root's 0600)
        assert (other.secrets / name).read_bytes() == (live.secrets / name).read_bytes()
        assert owner_mode(other.secrets / name) == owner_mode(live.secrets / name)
    assert owner_mode(other.secrets / "secret_key") == ("root", "mailroom", 0o640)
    assert owner_mode(other.secrets) == ("root", "mailroom", 0o750)
    assert owner_mode(other.database) == ("mailroom", "postfix", 0o640)
    assert owner_mode(other.database.parent) == ("mailroom", "postfix", 0o750)
    assert owner_mode(other.private_database) == ("mailroom", "mailroom", 0o600)
    head, = ScriptDirectory.from_config(alembic_config(f"sqlite:///{live.database}")).get_heads()
    assert data["revision"] == head  # the schema it was written with, not a later or earlier one
    code, domains = run(other_app, "domain", "list", "--json")  # the restored app reads it
    assert code == 0 and {d["domain"] for d in domains} == {d for d, _ in directory(live.database)["domains"]}


def test_restore_refuses_while_the_stack_runs(app, mail_stack, backup_file):
    database = Layout.from_config(mail_stack).database
    before = directory(database)
    code, output = run(app, "backup", "restore", str(backup_file), "--yes")
    assert code != 0 and "stack down" in output
    assert directory(database) == before


def test_restore_refuses_a_foreign_file(backup_file, elsewhere):
    other_app, other = elsewhere
    foreign = rewritten(backup_file, backup_file.with_name("foreign.tar.gz"),
                        lambda members: [m for m in members if m[0].name != "manifest.json"])
    code, output = run(other_app, "backup", "restore", str(foreign))
    assert code != 0 and "not a Mailroom backup" in output
    code, output = run(other_app, "backup", "restore", str(Path(__file__)))
    assert code != 0 and "not a Mailroom backup" in output
    assert not other.data_dir.exists()


def test_restore_refuses_a_newer_schema(backup_file, elsewhere):
    other_app, other = elsewhere

    def newer(members):
        for info, data in members:
            if info.name == "manifest.json":
                data = json.dumps({**json.loads(data), "revision": "9999"}).encode()
                info.size = len(data)
            yield info, data

    code, output = run(other_app, "backup", "restore",
                       str(rewritten(backup_file, backup_file.with_name("newer.tar.gz"), newer)))
    assert code != 0 and "9999" in output and "does not know" in output
    assert not other.database.exists()


def test_restore_over_a_database_needs_yes(backup_file, elsewhere):
    other_app, other = elsewhere
    assert run(other_app, "backup", "restore", str(backup_file))[0] == 0
    with sqlite3.connect(other.database) as connection:
        connection.execute("DELETE FROM aliases")
    code, output = run(other_app, "backup", "restore", str(backup_file))
    assert code != 0 and "--yes" in output
    assert directory(other.database)["aliases"] == []
    assert run(other_app, "backup", "restore", str(backup_file), "--yes")[0] == 0
    assert directory(other.database)["aliases"]


@pytest.mark.parametrize("name, kind", [
    ("secrets/../../escaped", tarfile.REGTYPE),
    ("/tmp/absolute", tarfile.REGTYPE),
    ("dkim/link", tarfile.SYMTYPE),
    ("dkim/hard", tarfile.LNKTYPE),
])
def test_restore_refuses_unsafe_members(backup_file, elsewhere, name, kind):
    other_app, other = elsewhere

    def planted(members):
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.size = kind, "/etc/passwd", 0
        return [*members, (info, b"")]

    path = rewritten(backup_file, backup_file.with_name("unsafe.tar.gz"), planted)
    code, output = run(other_app, "backup", "restore", str(path))
    assert code != 0 and "is not allowed" in output
    assert not other.data_dir.exists()
    assert not Path("/tmp/absolute").exists() and not other.data_dir.parent.joinpath("escaped").exists()


def test_a_backup_taken_during_delivery_and_changes_is_whole(app, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "busy", spam_to_junk=False)
    stop = threading.Event()

    def deliver():
        while not stop.is_set():
            send_inbound(mail_stack, address, unique("busy"))

    def change():
        while not stop.is_set():
            new_address(stack_db, domain, "churn")

    workers = [threading.Thread(target=deliver), threading.Thread(target=change)]
    folder = Path(tempfile.mkdtemp(prefix="mr-busy-"))
    try:
        for worker in workers:
            worker.start()
        for round_number in range(5):
            target = folder / f"{round_number}.tar.gz"
            code, data = run(app, "backup", "create", str(target), "--json")
            assert code == 0, data
            with tarfile.open(target, "r:gz") as archive:
                archive.extract("database/mailroom.db", folder / str(round_number))
                archive.extract("database/mailroom-private.db", folder / str(round_number))
            copy = folder / str(round_number) / "database" / "mailroom.db"
            with sqlite3.connect(copy) as connection:
                assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
                count = connection.execute("SELECT count(*) FROM mailboxes").fetchone()[0]
                # The two files show the same moment: every mailbox the churn added has its password.
                connection.execute("ATTACH DATABASE ? AS private", (str(private_database(copy)),))
                assert connection.execute(
                    "SELECT count(*) FROM mailboxes m WHERE m.address LIKE 'churn-%' AND NOT EXISTS "
                    "(SELECT 1 FROM private.credentials c WHERE c.address = m.address)").fetchone() == (0,)
            assert count == data["manifest"]["counts"]["mailboxes"]
            assert not os.path.exists(f"{copy}-wal")
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_backup_from_before_the_private_database_restores_its_passwords(backup_file, elsewhere):
    """A backup written before 0006 has no private database: its database holds the password
    hashes and sessions, which the upgrade after the restore moves out of the daemons' file."""
    other_app, other = elsewhere
    hashed = "{BLF-CRYPT}" + "$2b$04$" + "x" * 53
    old = Path(tempfile.mkdtemp(prefix="mr-old-")) / "mailroom.db"
    upgrade(f"sqlite:///{old}", "0005")
    connection = sqlite3.connect(old, isolation_level=None)
    connection.execute("INSERT INTO domains (name) VALUES ('old.test')")
    connection.execute("INSERT INTO mailboxes (domain_id, local_part, address, password_hash) "
                       "VALUES (1, 'ann', 'ann@old.test', ?)", (hashed,))
    connection.execute("PRAGMA journal_mode=DELETE")  # one file, as backup.py writes it
    connection.close()

    def before_the_split(members):
        for info, data in members:
            if info.name == "database/mailroom-private.db":
                continue
            if info.name == "database/mailroom.db":
                data = old.read_bytes()
            elif info.name == "manifest.json":
                data = json.dumps({**json.loads(data), "revision": "0005"}).encode()
            info.size = len(data)
            yield info, data

    path = rewritten(backup_file, backup_file.with_name("old.tar.gz"), before_the_split)
    shutil.rmtree(old.parent)
    code, data = run(other_app, "backup", "restore", str(path), "--json")
    assert code == 0, data
    assert directory(other.database)["mailboxes"] == [("ann@old.test", hashed, 1)]
    assert hashed.encode() not in other.database.read_bytes()
    assert owner_mode(other.private_database) == ("mailroom", "mailroom", 0o600)
