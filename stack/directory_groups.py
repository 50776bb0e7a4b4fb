"""Directory users' groups for Dovecot and the Junk-training worker (MAILROOM_ACCOUNT_PROVIDER=ldap).

Dovecot's LDAP userdb sees only the user's own entry, and groupOfNames keeps members on
the group, so it cannot return the user's groups itself (AD's and the memberof overlay's
memberOf holds DNs, full of the commas that separate acl_groups). The privileged worker
reads the directory every MAILROOM_LDAP_GROUPS_REFRESH seconds with the app's own group
filter and writes a passwd-file of `userdb_acl_groups` (and nothing else): Dovecot's last
userdb adds it to a user the LDAP userdb found (templates/dovecot/directory/ldap.conf;
passwd-file's userdb takes only extra fields named `userdb_*`). Each group is named
`ldap:NAME` there, as the ACLs of the shared mailboxes it owns name it
(core/models/shared.py). After each read the worker subscribes members to the shared
mailboxes their groups own, and unsubscribes who left (privileged.follow_directory_groups).
learnd reads the file to decide whether a directory user trains Rspamd, and the web app
to tell the person so. Membership changes count within that period; Dovecot re-reads
the file when its mtime or size changed.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from core.config import uses_ldap
from core.models.shared import DIRECTORY_PREFIX

from .background import repeat
from .files import write_file
from .layout import Layout

if TYPE_CHECKING:
    from core.ldapdir.people import Tree

log = logging.getLogger(__name__)
# Read by Dovecot's auth (as dovecot) and learnd (as the mail uid): world-readable, it
# holds addresses and group names only, nothing the service account could not list.
MODE = 0o644
FIELD = ":::::::userdb_acl_groups="  # after the address: no password, uid, gid, gecos, home, shell


def groups_file(layout: Layout) -> Path:
    """The passwd-file of directory users' groups."""
    return layout.dovecot_etc / "directory-groups.passwd"


def render(groups_by_address: dict[str, tuple[str, ...]]) -> str:
    """The passwd-file: `address:::::::userdb_acl_groups=ldap:a,ldap:b` for each user with a group.

    Addresses come from the directory's user filter with `mail=*`; a colon or a line
    break in one would break the file, so such an entry is left out.
    """
    lines = [f"{address}{FIELD}{','.join(DIRECTORY_PREFIX + n for n in names)}"
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
    write_file(groups_file(layout), render(groups_by_address(tree)), MODE)
    return tree


def groups_by_address(tree: Tree) -> dict[str, list[str]]:
    """Each directory user's address with their groups' names (those in no group left out)."""
    return {p.user.address: list(p.groups) for p in tree.people if p.groups}


def read(path: Path) -> dict[str, list[str]]:
    """The file's groups by address, by their directory names, e.g. {'ada@x': ['staff']}
    (empty when there is no file yet)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    found = {}
    for line in text.splitlines():
        address, _, extra = line.partition(FIELD)
        if extra:
            found[address] = [n.removeprefix(DIRECTORY_PREFIX) for n in extra.split(",")]
    return found


def ensure(cfg: dict, layout: Layout) -> None:
    """At `stack up`: refresh the file, or leave an empty one."""
    if refresh(cfg, layout) is None and not groups_file(layout).exists():
        write_file(groups_file(layout), "", MODE)


def start(layout: Layout, settings: Callable[[], dict],
          *after_read: Callable[[Tree], None]) -> Callable[[], None]:
    """Refresh every MAILROOM_LDAP_GROUPS_REFRESH seconds (as set at start) in a thread
    while the provider is LDAP, handing each tree read to every AFTER_READ (the worker
    records the people and follows the groups' shared mailboxes); a stop function."""

    def step() -> None:
        cfg = settings()
        if uses_ldap(cfg):
            tree = refresh(cfg, layout)
            if tree is not None:
                for after in after_read:
                    after(tree)

    # At once too: the people's record (and so the orphaned folders) is current from the
    # worker's start. Dovecot notices a new file by its mtime in whole seconds (and its
    # size): writes at least a second apart always differ there.
    seconds = max(1.0, float(settings()["LDAP_GROUPS_REFRESH"]))
    return repeat("directory-groups", seconds, step, log, join_timeout=10, at_once=True)
