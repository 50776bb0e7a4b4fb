"""The directory tree under STACK_DIR, its owners and modes, and the files daemons append to."""
from __future__ import annotations

import os
from pathlib import Path

from . import carddav, perms, quota_clone
from .errors import StackError
from .layout import Layout
from .sieve import compile_folder, install_before_scripts


def tree(layout: Layout) -> list[tuple[Path, int, str | None]]:
    """(directory, mode, owner) for everything under STACK_DIR, parents first."""
    lib, run = layout.lib, layout.run
    return [
        (layout.root, 0o755, None),
        (layout.etc, 0o755, None),
        (layout.dovecot_etc, 0o755, None),
        (layout.postfix_etc, 0o755, None),
        (layout.postfix_etc / "maps", 0o755, None),
        (layout.rspamd_etc, 0o755, None),
        (layout.rspamd_etc / "local.d", 0o755, None),
        (layout.rspamd_etc / "override.d", 0o755, None),
        (layout.redis_etc, 0o755, None),
        (layout.clamav_etc, 0o755, None),
        (carddav.config_file(layout).parent, 0o755, None),
        (run, 0o755, None),
        (layout.records, 0o755, None),  # our pid records: `status` may run unprivileged
        (layout.dovecot_run, 0o755, None),
        (layout.rspamd_run, 0o755, "_rspamd"),
        (layout.redis_run, 0o755, "redis"),
        (layout.clamd_run, 0o755, "clamav"),  # clamd writes its pidfile as clamav
        (lib, 0o755, None),
        (lib / "dovecot", 0o750, None),
        (lib / "shared", 0o750, "mail"),  # acl_shared_dict, written by the mail uid
        (lib / "postfix", 0o700, "postfix"),
        (lib / "rspamd", 0o750, "_rspamd"),  # DBDIR: kept between runs (hyperscan cache)
        (lib / "redis", 0o750, "redis"),
        (layout.clamav_db, 0o755, "clamav"),  # root renders the signature; freshclam may add
        (carddav.storage(layout), 0o700, carddav.USER),  # the address books
        (layout.log, 0o755, None),
        (layout.mail, 0o750, "mail"),
        (layout.sieve, 0o755, None),
        (layout.sieve / "before.d", 0o755, None),
        (layout.sieve / "bin", 0o755, None),
        (layout.root / "spool", 0o755, None),
        (layout.queue, 0o755, None),
    ]


# Log files, pre-created so a daemon that opens its log after dropping privileges can.
LOG_OWNERS = {"dovecot": None, "postfix": None, "rspamd": "_rspamd", "redis": "redis",
              "clamd": "clamav"}


def prepare_tree(layout: Layout) -> None:
    """Create STACK_DIR's directories and log files with their owners and modes."""
    if not layout.data_dir.exists():
        perms.ensure_dir(layout.data_dir, 0o755)
    perms.system_user(perms.APP_USER)
    prepare_app_dirs(layout)
    perms.check_reachable(layout.root)
    for path, mode, owner in tree(layout):
        perms.ensure_dir(path, mode, owner)
    for name, owner in LOG_OWNERS.items():
        perms.ensure_file(layout.log_file(name), 0o640, owner)
    quota_clone.prepare(layout)


def prepare_app_dirs(layout: Layout) -> None:
    """The folders the unprivileged web app writes: the database's and the uploads'.

    A database left at DATA_DIR/mailroom.db by an earlier version moves into its folder.
    """
    perms.ensure_dir(layout.data_dir / "uploads", 0o700, perms.APP_USER)
    if layout.database is None:  # PostgreSQL: no file of ours
        return
    folder = layout.database.parent
    perms.ensure_dir(folder, perms.DATABASE_DIR_MODE, perms.APP_USER, perms.DATABASE_GROUP)
    old = layout.data_dir / "mailroom.db"
    if folder == layout.data_dir / "db" and old.exists() and not layout.database.exists():
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{old}{suffix}").exists():
                os.replace(f"{old}{suffix}", f"{layout.database}{suffix}")


def check_database(layout: Layout) -> None:
    """The database must be reachable and readable by the daemons that query it, its
    private database by the web app only. PostgreSQL grants its own (stack/pgsql.py)."""
    if layout.database is None:
        return
    if not layout.database.exists():
        raise StackError(f"the database {layout.database} does not exist")
    perms.set_owner(layout.database, perms.DATABASE_MODE, perms.APP_USER, perms.DATABASE_GROUP)
    perms.share_wal_index(layout.database)
    perms.check_reachable(layout.database, perms.DATABASE_READERS, read=True)
    perms.keep_private(layout.private_database)


def compile_sieve_before(layout: Layout) -> None:
    """Install and compile the global before-scripts."""
    install_before_scripts(layout)
    folder = layout.sieve / "before.d"
    if any(folder.glob("*.sieve")):
        compile_folder(layout, folder)
