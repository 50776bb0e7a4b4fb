"""Taking one daemon of the session's stack down for a test, and counting what is left."""
from __future__ import annotations

import subprocess
from contextlib import contextmanager
from typing import Iterator

from stack import start_daemon, stop_daemon
from stack.layout import Layout
from tests.helpers import imap_login


@contextmanager
def stopped(cfg: dict, name: str) -> Iterator[None]:
    """Daemon NAME is down inside the block; afterwards it runs and answers again.

    It is started again however the block ends (a failed assertion included), with the
    stack's own start code, which waits until every port of the daemon answers.
    """
    assert stop_daemon(cfg, name), f"{name} was not running before the test"
    try:
        yield
    finally:
        start_daemon(cfg, name)


def count(cfg: dict, address: str, folder: str, subject: str = "") -> int:
    """Messages in FOLDER of ADDRESS (with SUBJECT in their subject, when given), over IMAP."""
    client = imap_login(cfg, address)
    try:
        client.select_folder(folder, readonly=True)
        return len(client.search(["SUBJECT", subject] if subject else ["ALL"]))
    finally:
        client.logout()


def imap_sessions(cfg: dict, address: str) -> int:
    """IMAP connections Dovecot has open for ADDRESS right now (`doveadm who`)."""
    conf = Layout.from_config(cfg).dovecot_conf
    done = subprocess.run(["doveadm", "-c", str(conf), "who", "-1", address], capture_output=True,
                          text=True, timeout=30, check=True)
    rows = [line.split() for line in done.stdout.splitlines()[1:]]
    return sum(1 for row in rows if len(row) > 1 and row[0] == address and row[1] == "imap")
