"""Archived mail of deleted addresses: listed and restored by a server admin (root's CLI).

The worker moves a deleted mailbox's Maildir to MAIL_ROOT/.archive/DOMAIN/LOCAL-TIME-JOB
(core/services/server/jobs.py), a folder only root may enter; a new mailbox of the same
address starts empty. Restoring moves an archive back into a mailbox that has no mail yet.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.services.errors import AlreadyExists, InvalidInput, NotFound
from core.services.server import jobs, mailstore

from . import lookup

NAME = re.compile(r"^(?P<local>.+)-(?P<time>\d{8}T\d{6})-(?P<job>\d+)$")


@dataclass(frozen=True)
class Archive:
    """One archived mail folder, e.g. Archive('ann@example.test', 'ann-20261204T153000-7', …)."""

    address: str
    name: str
    archived: str  # 20261204T153000
    path: Path


def archives(cfg: dict) -> list[Archive]:
    """Every archived mail folder, newest first."""
    root = mailstore.mail_root(cfg) / jobs.ARCHIVE
    found = []
    for domain_dir in sorted(root.iterdir()) if root.is_dir() else ():
        for path in domain_dir.iterdir():
            match = NAME.match(path.name)
            if match and path.is_dir() and not path.is_symlink():
                found.append(Archive(f"{match['local']}@{domain_dir.name}", path.name,
                                     match["time"], path))
    return sorted(found, key=lambda a: a.archived, reverse=True)


def restore_archive(db: Session, cfg: dict, address: str, name: str) -> Path:
    """Move archive NAME back as ADDRESS's mail; the mailbox must exist and hold no mail yet."""
    address = lookup.valid_address(address)
    if not lookup.address_in_use(db, address):
        raise NotFound(_l('There is no mailbox %(address)s: create it first, then restore its mail.',
                          address=address))
    home = mailstore.mail_home(cfg, address)
    if home.exists() and any(home.iterdir()):
        raise AlreadyExists(_l('%(address)s has mail already (%(home)s): restore into a mailbox '
                               'that has not been used yet.', address=address, home=home))
    chosen = next((a for a in archives(cfg) if a.name == name and a.address == address), None)
    if chosen is None:
        raise InvalidInput(_l('There is no archive %(name)s of %(address)s (see `mailbox '
                              'archives`).', name=f"{name!r}", address=address))
    if home.exists():
        home.rmdir()
    os.rename(chosen.path, home)
    return home
