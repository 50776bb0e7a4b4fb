"""The worker's record of the directory's people (MAILROOM_ACCOUNT_PROVIDER=ldap).

After each read of the directory (stack/directory_groups.py, every 30 s) the worker
records each stable id's address, extra addresses (offered as identities: Postfix's ldap:
sender-login table lets them send as those) and when it was seen, and finds the mail folders
(MAIL_ROOT/directory/<id>) whose id the directory no longer has: the admin lists those as
orphaned, under the last known address, and erases or archives them
(core/services/directory/directory_users.py). It runs as root: it may measure the folders.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from core.ldapdir.people import Tree

from ..layout import Layout

log = logging.getLogger(__name__)


def folder_size(path: Path) -> int:
    """Bytes in the files under PATH (symbolic links are neither followed nor counted)."""
    total = 0
    for top, _, files in os.walk(path):
        for name in files:
            try:
                stat = os.lstat(os.path.join(top, name))
            except OSError:  # expunged meanwhile
                continue
            total += stat.st_size
    return total


def record(database, layout: Layout, tree: Tree) -> None:
    """Record TREE (a complete read) and the orphaned folders in the database; set aside the
    address book of each address that someone else holds now."""
    from core.services.directory.directory_users import record_read
    from core.services.server.jobs import DIRECTORY, archive_book

    from .. import carddav

    root = layout.mail / DIRECTORY
    folders = {p.name for p in root.iterdir() if p.is_dir() and not p.is_symlink()} if root.is_dir() else set()
    seen = {p.user.id: p.user.address for p in tree.people if p.user.id}
    extras = {p.user.id: list(p.user.aliases) for p in tree.people if p.user.id}
    with database.transaction() as session:
        forgotten = record_read(session, seen, folders, lambda directory_id: folder_size(root / directory_id),
                                extras=extras)
    for address in forgotten:
        archive_book(carddav.storage(layout), layout.mail, address, "left")
