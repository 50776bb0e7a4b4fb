"""Backups of the directory: the database, the secrets and the DKIM keys in one tar.gz.

Mail itself is backed up with Dovecot's own `doveadm backup` (see the README); this
archive holds what Mailroom keeps: a consistent copy of the SQLite database and of its
private database (core/db.py) taken with SQLite's online backup API (the daemons read
the files live and they run in WAL mode, so copying a file could catch half a
transaction, or miss the part still in the WAL), DATA_DIR/secrets/* and
STACK_DIR/lib/dkim when it exists, with a manifest.json.

Restoring is core/services/server/restore.py.
"""
from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core.config import private_database
from core.db import PRIVATE, attach
from core.i18n import lazy_gettext as _l
from core.models import Alias, Domain, Mailbox
from core.services.errors import InvalidInput, ServiceError
from stack.dkim import keys_dir
from stack.errors import StackError
from stack.layout import Layout

log = logging.getLogger(__name__)
FORMAT = 1
KIND = "mailroom-backup"
MANIFEST = "manifest.json"
DATABASE_MEMBER = "database/mailroom.db"
# Absent from backups written before the secrets had a file of their own (0006): their
# database still holds them, and the upgrade after a restore moves them.
PRIVATE_MEMBER = "database/mailroom-private.db"
# Archive folder -> what it restores into (see restore.py).
SECRETS, DKIM = "secrets", "dkim"
COUNTED = {"domains": Domain, "mailboxes": Mailbox, "aliases": Alias}


@dataclass(frozen=True)
class Written:
    """A backup written, e.g. Written(Path("/srv/b.tar.gz"), 20480, {"format": 1, ...}, 0.08)."""

    path: Path
    size: int
    manifest: dict
    seconds: float


def layout_for(cfg: dict) -> Layout:
    """The stack's layout for CFG; a PostgreSQL URL is told which tool backs it up."""
    if not str(cfg["DATABASE_URL"]).startswith("sqlite:///"):
        raise InvalidInput(
            _l("Mailroom's backup covers an SQLite database (MAILROOM_DATABASE_URL is not one): "
            "back up PostgreSQL with its own tool, pg_dump (and restore with pg_restore).")
        )
    try:
        return Layout.from_config(cfg)
    except StackError as exc:
        raise InvalidInput(str(exc)) from exc


def create_backup(cfg: dict, target: Path) -> Written:
    """Write the backup archive TARGET (mode 0600) and return what was written."""
    began = time.monotonic()
    layout = layout_for(cfg)
    if not layout.database.is_file():
        raise ServiceError(_l('There is no database at %(database)s to back up.', database=layout.database))
    with tempfile.TemporaryDirectory(prefix="mailroom-backup-") as scratch:
        snapshot, private = Path(scratch) / "mailroom.db", Path(scratch) / "private.db"
        snapshot_database(layout.database, snapshot, private)
        manifest = make_manifest(snapshot)
        _write_archive(target, layout, {DATABASE_MEMBER: snapshot, PRIVATE_MEMBER: private},
                       manifest)
    written = Written(target, target.stat().st_size, manifest, time.monotonic() - began)
    log.info("backup %s written (%d bytes, %.2f s)", target, written.size, written.seconds)
    return written


def snapshot_database(database: Path, copy: Path, private_copy: Path) -> None:
    """Copy DATABASE into COPY and its private database into PRIVATE_COPY with SQLite's
    online backup API, both in one read transaction.

    pages=-1 copies a file in one step, and both steps read the snapshot the transaction
    took of each file first, so the two copies show the same moment (a mailbox and its
    password) even while others commit; each copy is then switched out of WAL mode to be
    one file. The source is opened read-write although only read: a read-only
    connection (as root) would leave -wal and -shm files behind that Postfix cannot
    use, while the last read-write connection to close removes them.
    """
    source = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        attach(source, private_database(database))
        source.execute("BEGIN")
        for name in ("main", PRIVATE):
            source.execute(f"SELECT count(*) FROM {name}.sqlite_master").fetchone()
        for name, path in (("main", copy), (PRIVATE, private_copy)):
            target = sqlite3.connect(path)
            try:
                source.backup(target, pages=-1, name=name)
                target.execute("PRAGMA journal_mode=DELETE").fetchone()
            finally:
                target.close()
    except sqlite3.Error as exc:
        raise ServiceError(_l('The database %(database)s could not be copied: %(exc)s',
                              database=database, exc=exc)) from exc
    finally:
        source.close()


def make_manifest(snapshot: Path) -> dict:
    """What the archive says about itself: format, schema revision, time, counts."""
    connection = sqlite3.connect(snapshot)
    try:
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        counts = {name: connection.execute(
            f"SELECT count(*) FROM {model.__tablename__}").fetchone()[0]  # noqa: S608 - our names
            for name, model in COUNTED.items()}
    except sqlite3.Error as exc:
        raise ServiceError(_l('The database is not a Mailroom database: %(exc)s', exc=exc)) from exc
    finally:
        connection.close()
    return {"kind": KIND, "format": FORMAT, "revision": revision[0] if revision else None,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "counts": counts}


def _write_archive(target: Path, layout: Layout, copies: dict[str, Path], manifest: dict) -> None:
    """Write the tar.gz (COPIES: the database files by member name) next to TARGET under
    a temporary name, then move it into place.

    The file is created 0600 (it holds password hashes and secrets) and only replaces
    TARGET once complete, so an interrupted run never leaves half a backup under its name.
    """
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=1).encode() + b"\n")
            for member, copy in copies.items():
                archive.add(copy, member, recursive=False)
            _add_folder(archive, layout.secrets, SECRETS)
            _add_folder(archive, keys_dir(layout), DKIM)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    """Add DATA as the regular file NAME."""
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    archive.addfile(info, io.BytesIO(data))


def _add_folder(archive: tarfile.TarFile, folder: Path, name: str) -> None:
    """Add FOLDER's directories and regular files under NAME; links are left out."""
    if not folder.is_dir():
        return
    for top, folders, files in os.walk(folder):  # never follows links to folders
        for entry in sorted(folders) + sorted(files):
            path = Path(top, entry)
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                log.warning("backup skips %s: not a regular file or folder", path)
                continue
            member = PurePosixPath(name, path.relative_to(folder).as_posix())
            archive.add(path, str(member), recursive=False)
