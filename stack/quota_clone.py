"""Every mailbox's storage use, copied by Dovecot's quota_clone plugin into SQLite.

The admin dashboard reads all mailboxes' use in one query from here instead of asking
doveadm per mailbox. Dovecot's dict process (user dovecot) writes the file after each
delivery, APPEND, COPY and expunge (stack/templates/dovecot/conf.d/55-quota-clone.conf,
dovecot-dict-quota.conf.ext); it is not the app's database, because Dovecot's SQLite
dict waits only about a second on a lock, and the app's busy database would make it
drop updates. So it is a file of its own, in a folder dovecot writes (its rollback
journal goes there) and the web app's group reads: dovecot:mailroom 0750, the file 0640.
The privileged helper fills in mailboxes Dovecot has not measured yet (`quotas`).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from core.mail.doveadm import rows

from . import perms
from .layout import Layout

TABLE = "quota_usage"
WRITER = "dovecot"  # Dovecot's dict service runs as its default_internal_user
SCHEMA = (f"CREATE TABLE IF NOT EXISTS {TABLE} (address TEXT PRIMARY KEY, "
          "bytes INTEGER NOT NULL DEFAULT 0, messages INTEGER NOT NULL DEFAULT 0)")


def database(layout: Layout) -> Path:
    """The SQLite file Dovecot's quota_clone writes."""
    return layout.lib / "quota" / "usage.db"


def prepare(layout: Layout) -> None:
    """Create the folder and the table (kept between runs) with their owners and modes."""
    path = database(layout)
    perms.ensure_dir(path.parent, 0o750, WRITER, perms.APP_USER)
    with sqlite3.connect(path) as connection:
        connection.execute(SCHEMA)
    connection.close()
    perms.set_owner(path, 0o640, WRITER, perms.APP_USER)


def from_doveadm(fields: list[str]) -> tuple[int, int]:
    """(bytes, messages) from `doveadm quota get` fields: root, type, value (STORAGE in
    KiB), limit, percent, five per row."""
    values = {kind: value for _root, kind, value, _limit, _pct in rows(fields, 5)}
    return int(values.get("STORAGE", "0")) * 1024, int(values.get("MESSAGE", "0"))


def record(path: Path, measured: dict[str, tuple[int, int]]) -> None:
    """Store MEASURED (address -> (bytes, messages)) for mailboxes Dovecot has not copied
    yet; a value Dovecot wrote meanwhile is newer and stays."""
    if not measured:
        return
    with sqlite3.connect(path, timeout=5) as connection:
        connection.executemany(f"INSERT OR IGNORE INTO {TABLE} (address, bytes, messages) VALUES (?, ?, ?)",
                               [(address, size, count) for address, (size, count) in measured.items()])
    connection.close()


def read(path: Path, addresses: list[str] | None = None) -> dict[str, tuple[int, int]]:
    """Every copied mailbox's (bytes, messages), or those of ADDRESSES (a page's: at most
    a few thousand), in one query; {} while there is no file (the stack never ran).
    Read-only: the web app's group may only read it."""
    if not path.is_file():
        return {}
    query, values = f"SELECT address, bytes, messages FROM {TABLE}", ()
    if addresses is not None:
        query, values = f"{query} WHERE address IN ({', '.join('?' * len(addresses))})", tuple(addresses)
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return {address: (size, count) for address, size, count in connection.execute(query, values)}
    finally:
        connection.close()
