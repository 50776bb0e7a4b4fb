"""Directory users' groups for Dovecot and the Junk-training worker (MAILROOM_ACCOUNT_PROVIDER=ldap).

Dovecot's LDAP userdb sees only the user's own entry, and groupOfNames keeps members on
the group, so it cannot return the user's groups itself. The privileged worker reads
the directory every REFRESH_SECONDS and writes a passwd-file of `acl_groups` (and
nothing else); learnd reads it to decide whether a directory user trains Rspamd, and the
web app to tell the person so. Membership changes count within that period. (Directory
groups owning shared mailboxes need these groups in Dovecot's userdb: not built, README.)
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from core.config import uses_ldap

from .background import repeat
from .files import write_file
from .layout import Layout

if TYPE_CHECKING:
    from core.ldapdir.people import Tree

log = logging.getLogger(__name__)
REFRESH_SECONDS = 30.0
# Read by Dovecot's auth (as dovecot) and learnd (as the mail uid): world-readable, it
# holds addresses and group names only, nothing the service account could not list.
MODE = 0o644


def groups_file(layout: Layout) -> Path:
    """The passwd-file of directory users' groups."""
    return layout.dovecot_etc / "directory-groups.passwd"


def render(groups_by_address: dict[str, tuple[str, ...]]) -> str:
    """The passwd-file: `address:::::::acl_groups=a,b` for each user with a group.

    Addresses come from the directory's user filter with `mail=*`; a colon or a line
    break in one would break the file, so such an entry is left out.
    """
    lines = [f"{address}:::::::acl_groups={','.join(names)}"
             for address, names in sorted(groups_by_address.items())
             if names and not any(c in address for c in ":\n\r")]
    return "".join(line + "\n" for line in lines)


def refresh(cfg: dict, layout: Layout) -> Tree | None:
    """Read the directory and rewrite the file if it changed; the tree read, None when it
    cannot be read (the last file stays: a directory that is down changes nobody's rights)."""
    from core.ldapdir.people import DirectoryUnavailable, read_tree

    try:
        tree = read_tree(cfg)
    except DirectoryUnavailable as exc:
        log.warning("directory groups not refreshed: %s", exc)
        return None
    write_file(groups_file(layout), render({p.user.address: p.groups for p in tree.people}), MODE)
    return tree


def read(path: Path) -> dict[str, list[str]]:
    """The file's groups by address (empty when there is no file yet)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    found = {}
    for line in text.splitlines():
        address, _, extra = line.partition(":::::::acl_groups=")
        if extra:
            found[address] = extra.split(",")
    return found


def ensure(cfg: dict, layout: Layout) -> None:
    """At `stack up`: refresh the file, or leave an empty one."""
    if refresh(cfg, layout) is None and not groups_file(layout).exists():
        write_file(groups_file(layout), "", MODE)


def start(layout: Layout, settings: Callable[[], dict],
          after_read: Callable[[Tree], None] = lambda tree: None) -> Callable[[], None]:
    """Refresh every REFRESH_SECONDS in a thread while the provider is LDAP, handing each
    tree read to AFTER_READ (stack/worker/directory_people.py records it); a stop function."""

    def step() -> None:
        cfg = settings()
        if uses_ldap(cfg):
            tree = refresh(cfg, layout)
            if tree is not None:
                after_read(tree)

    # At once too: the people's record (and so the orphaned folders) is current from the
    # worker's start, not half a minute later.
    return repeat("directory-groups", REFRESH_SECONDS, step, log, join_timeout=10, at_once=True)
