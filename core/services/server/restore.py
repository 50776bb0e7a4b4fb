"""Restoring a backup written by backup.py: the databases, the secrets and the DKIM keys.

Everything is checked before anything changes: the stack must be down (its daemons
read the database and the secrets), the file must be a Mailroom backup whose members
are plain files and folders under the names we write, and its schema must be one this
code knows. Files are written under a temporary name and renamed into place, so a
link planted at a target is replaced, never followed.
"""
from __future__ import annotations

import json
import logging
import grp
import os
import pwd
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from core.config import PRIVATE_DATABASE_MODE
from core.db import code_revisions, upgrade
from core.i18n import lazy_gettext as _l
from core.services.errors import AlreadyExists, InvalidInput, Refused, ServiceError
from core.services.server.backup import (
    DATABASE_MEMBER, DKIM, FORMAT, KIND, MANIFEST, PRIVATE_MEMBER, SECRETS, layout_for)
from stack import perms
from stack.dkim import keys_dir
from stack.daemons import running
from stack.errors import StackError
from stack.layout import DAEMONS, Layout
from stack.prepare import check_database, prepare_app_dirs

log = logging.getLogger(__name__)
# root:mailroom 0640 as stack/secretfiles.py makes them; never wider than they were
# saved (demo-logins.json, with plaintext demo passwords, is root's alone: 0600).
SECRET_MODE = 0o640


@dataclass
class Restored:
    """What a restore put back, e.g. Restored({...manifest}, "0005", ["secret_key"], 0, 0.2)."""

    manifest: dict
    revision: str
    secrets: list[str] = field(default_factory=list)
    dkim_files: int = 0
    seconds: float = 0.0


def restore_backup(cfg: dict, source: Path, replace: bool = False) -> Restored:
    """Put the backup SOURCE in place and bring its schema up to date.

    Refused (nothing changed) while the stack runs, for a file that is not a Mailroom
    backup or comes from a newer schema, and over an existing database unless REPLACE.
    """
    began = time.monotonic()
    layout = layout_for(cfg)
    _refuse_while_running(layout)
    with _open(source) as archive:
        members = checked_members(archive, source)
        manifest = read_manifest(archive, source, str(cfg["DATABASE_URL"]))
        if layout.database.exists() and not replace:
            raise AlreadyExists(
                _l('A database exists at %(database)s: restoring replaces it and the secrets. '
                   'Confirm with --yes (take a backup of it first if in doubt).', database=layout.database))
        done = Restored(manifest, manifest["revision"])
        _restore_database(archive, members, layout)
        done.secrets = _restore_secrets(archive, members, layout)
        done.dkim_files = _restore_dkim(archive, members, layout)
    upgrade(str(cfg["DATABASE_URL"]))
    _share_database(layout)
    done.revision = code_revisions(str(cfg["DATABASE_URL"]))[-1]
    done.seconds = time.monotonic() - began
    log.info("backup %s restored (schema %s -> %s)", source, manifest["revision"], done.revision)
    return done


def _refuse_while_running(layout: Layout) -> None:
    """The daemons read the database and the secrets live: they must be stopped first."""
    up = [name for name in DAEMONS if running(layout, name)]
    if up:
        raise Refused(_l('The mail stack is running (%(up)s): stop it with `flask --app app stack '
                         'down` before restoring, then start it again.', up=', '.join(up)))


def _open(source: Path) -> tarfile.TarFile:
    """The archive SOURCE, opened for reading (gzip only: what backup.py writes)."""
    try:
        return tarfile.open(source, mode="r:gz")
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise InvalidInput(_l('%(source)s is not a Mailroom backup (not a readable tar.gz: '
                              '%(exc)s).', source=source, exc=exc)) \
            from exc


def _allowed(path: PurePosixPath, member: tarfile.TarInfo) -> bool:
    """Whether a member of this name and kind belongs in a Mailroom backup."""
    name = str(path)
    if name in (MANIFEST, DATABASE_MEMBER, PRIVATE_MEMBER):
        return member.isfile()
    if path.parts[0] == SECRETS:
        return member.isfile() and len(path.parts) == 2 or member.isdir() and name == SECRETS
    return path.parts[0] == DKIM


def checked_members(archive: tarfile.TarFile, source: Path) -> dict[str, tarfile.TarInfo]:
    """Every member by its normalised name, once each is known to be safe to write.

    Refused: absolute names, any "..", anything but regular files and folders (links,
    devices, FIFOs), names outside what backup.py writes.
    """
    members: dict[str, tarfile.TarInfo] = {}
    for member in archive.getmembers():
        path = PurePosixPath(member.name)
        unsafe = (path.is_absolute() or ".." in path.parts or not path.parts
                  or not (member.isfile() or member.isdir()))
        if unsafe or not _allowed(path, member):
            raise InvalidInput(_l('%(source)s is not a Mailroom backup it is safe to restore: '
                                  'member %(name)s is not allowed.', source=source, name=f"{member.name!r}"))
        members[str(path)] = member
    if MANIFEST not in members or DATABASE_MEMBER not in members:
        raise InvalidInput(_l('%(source)s is not a Mailroom backup (no %(manifest)s or database).',
                              source=source, manifest=MANIFEST))
    return members


def read_manifest(archive: tarfile.TarFile, source: Path, url: str) -> dict:
    """The archive's manifest, once it names a format and a schema this code can restore."""
    try:
        manifest = json.loads(archive.extractfile(MANIFEST).read())
    except (ValueError, tarfile.TarError, OSError) as exc:
        raise InvalidInput(_l('%(source)s is not a Mailroom backup (unreadable manifest).',
                              source=source)) from exc
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
        raise InvalidInput(_l('%(source)s is not a Mailroom backup.', source=source))
    if manifest.get("format") != FORMAT:
        raise InvalidInput(_l('%(source)s has backup format %(get)s; this version of Mailroom '
                              'reads format %(format)s.',
                              source=source, get=f"{manifest.get('format')!r}", format=FORMAT))
    known = code_revisions(url)
    if manifest.get("revision") not in known:
        raise Refused(_l('%(source)s holds database schema %(revision)s, which this version of '
                         'Mailroom does not know (it knows up to %(known)s): restore it with the '
                         'newer version that wrote it.',
                         source=source, revision=f"{manifest.get('revision')!r}", known=known[-1]))
    return manifest


def _install(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path, mode: int,
             owner: tuple[int, int]) -> None:
    """Write MEMBER's content to TARGET with OWNER (uid, gid) and MODE, atomically.

    Written to a temporary file in TARGET's folder, then renamed over TARGET: a rename
    replaces a link at TARGET instead of writing through it.
    """
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, archive.extractfile(member) as data:
            while chunk := data.read(1 << 20):
                out.write(chunk)
            os.fchown(out.fileno(), *owner)
            os.fchmod(out.fileno(), mode)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def _restore_database(archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo],
                      layout: Layout) -> None:
    """The database file, mailroom:postfix 0640 in its folder, and its private database,
    mailroom's alone (0600); stale WAL files go first.

    A -wal left by a database being replaced would otherwise be replayed into the
    restored one. A backup from before the private database (0006) has none: its
    database still holds the secrets, and the upgrade that follows moves them into a
    new one, so an existing private database goes too.
    """
    _stack(lambda: perms.system_user(perms.APP_USER))
    _stack(lambda: prepare_app_dirs(layout))
    for database in (layout.database, layout.private_database):
        for suffix in ("-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    owner = _stack(lambda: perms.ids(perms.APP_USER, perms.DATABASE_GROUP))
    _install(archive, members[DATABASE_MEMBER], layout.database, perms.DATABASE_MODE, owner)
    if PRIVATE_MEMBER not in members:
        layout.private_database.unlink(missing_ok=True)
        return
    owner = _stack(lambda: perms.ids(perms.APP_USER, perms.APP_USER))
    _install(archive, members[PRIVATE_MEMBER], layout.private_database,
             PRIVATE_DATABASE_MODE, owner)


def _restore_secrets(archive, members: dict[str, tarfile.TarInfo], layout: Layout) -> list[str]:
    """The secret files, root's at most 0640, in their root:mailroom 0750 folder."""
    _stack(lambda: perms.ensure_dir(layout.secrets, 0o750, None, perms.APP_USER))
    names = []
    for name, member in sorted(members.items()):
        path = PurePosixPath(name)
        if path.parts[0] == SECRETS and member.isfile():
            owner = (0, _owner(member)[1])  # root's, in the group they had (mailroom or root)
            _install(archive, member, layout.secrets / path.name, member.mode & SECRET_MODE, owner)
            names.append(path.name)
    return names


def _restore_dkim(archive, members: dict[str, tarfile.TarInfo], layout: Layout) -> int:
    """The DKIM keys folder as it was saved: modes, and owners where they exist here."""
    root, count = keys_dir(layout), 0
    for name, member in sorted(members.items()):  # a folder sorts before what it holds
        path = PurePosixPath(name)
        if path.parts[0] != DKIM:
            continue
        target = root.joinpath(*path.parts[1:])
        _refuse_links(root, target)
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            os.chown(target, *_owner(member))
            target.chmod(member.mode & 0o777)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            _install(archive, member, target, member.mode & 0o777, _owner(member))
            count += 1
    return count


def _refuse_links(root: Path, target: Path) -> None:
    """TARGET's folder must be where its name says: no link on the way leads elsewhere."""
    expected = Path(os.path.realpath(root)).joinpath(*target.relative_to(root).parts[:-1])
    if target.is_symlink() or (
            target != root and os.path.realpath(target.parent) != str(expected)):
        raise Refused(_l('%(parent)s leads elsewhere through a link: nothing is written there.',
                         parent=target.parent))


def _owner(member: tarfile.TarInfo) -> tuple[int, int]:
    """(uid, gid) of the member's user and group names on this system; root where unknown."""
    try:
        uid = pwd.getpwnam(member.uname).pw_uid
    except KeyError:
        uid = 0
    try:
        gid = grp.getgrnam(member.gname).gr_gid
    except KeyError:
        gid = 0
    return uid, gid


def _share_database(layout: Layout) -> None:
    """After the upgrade: the owners, modes and reachability the daemons need."""
    _stack(lambda: check_database(layout))


def _stack(step):
    """Run STEP of the stack's code; its StackError becomes a ServiceError."""
    try:
        return step()
    except StackError as exc:
        raise ServiceError(str(exc)) from exc
