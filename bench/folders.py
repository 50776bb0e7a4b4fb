"""The webmail's folder tree at 6 and 400 folders: IMAP commands, milliseconds, the page.

"one trip" is the tree as the webmail builds it on Dovecot (one LIST ... RETURN
(SUBSCRIBED SPECIAL-USE STATUS (...)), RFC 5819); "per folder" is the same call told that
the server lacks LIST-STATUS and LIST-EXTENDED, which is the way it went before: LIST,
LSUB and one STATUS per folder. Both on one logged-in connection, as the pool keeps it.
Then the warm list page of INBOX through the app (Flask's test client, no HTTP) for each
size, and its ratio to the smallest size (issue 17's target: at most 1.5).
Starts its own stack and removes it afterwards.

Run: python -m bench.folders [--sizes 6,400] [--rounds 30]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

from core.db import Database
from core.mail import imap
from core.services.directory import lookup
from core.services.mail.mailbox import folder_tree
from .common import app_client, scratch_stack, summary

PASSWORD = "benchmark-password-1"
OLD_WAY = ("LIST-STATUS", "LIST-EXTENDED")


def _mailbox(cfg: dict, address: str, folders: int) -> None:
    """ADDRESS with FOLDERS folders (half of them nested), one message in each."""
    db = Database()
    db.configure(cfg["DATABASE_URL"])
    with db.transaction() as session:
        lookup.add_mailbox(session, address, PASSWORD)
    client = imap.login(imap.ImapSettings.from_config(cfg), address, PASSWORD)
    try:
        for number in range(folders):
            name = f"Projects/Client {number}" if number % 2 else f"Folder {number}"
            client.create_folder(name)
            client.append(name, b"From: a@bench.test\r\nSubject: one\r\n\r\nbody\r\n")
    finally:
        client.logout()


def _measure(client, rounds: int, counts: bool) -> tuple[int, list[float]]:
    """(IMAP commands of one tree, seconds of each of ROUNDS trees)."""
    before = client._imap.tagnum  # noqa: SLF001 - imaplib numbers every command it sends
    folder_tree(client, counts)
    commands = client._imap.tagnum - before  # noqa: SLF001
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        folder_tree(client, counts)
        samples.append(time.perf_counter() - start)
    return commands, samples


def _report(cfg: dict, address: str, folders: int, rounds: int) -> None:
    client = imap.login(imap.ImapSettings.from_config(cfg), address, PASSWORD)
    try:
        for counts in (True, False):
            what = "with counts" if counts else "names only "
            fast, fast_times = _measure(client, rounds, counts)
            has = client.has_capability
            client.has_capability = lambda name: name.upper() not in OLD_WAY and has(name)
            slow, slow_times = _measure(client, rounds, counts)
            del client.has_capability
            print(f"{folders:3d} folders {what}  one trip   {fast:3d} commands  {summary(fast_times)}")
            print(f"{folders:3d} folders {what}  per folder {slow:3d} commands  {summary(slow_times)}")
    finally:
        client.logout()


def _page_times(cfg: dict, address: str, rounds: int) -> list[float]:
    """Seconds of ROUNDS warm list pages of ADDRESS's INBOX (after one untimed)."""
    from app import create_app

    web = app_client(create_app(cfg), address, PASSWORD)
    samples = []
    for number in range(rounds + 1):
        start = time.perf_counter()
        page = web.get("/mail?folder=INBOX")
        if page.status_code != 200:
            raise RuntimeError(f"the list page answered {page.status_code}")
        if number:
            samples.append(time.perf_counter() - start)
    return samples


def _report_pages(cfg: dict, sizes: list[int], rounds: int) -> None:
    medians = {}
    for size in sizes:
        samples = _page_times(cfg, f"tree{size}@bench.test", rounds)
        medians[size] = statistics.median(samples)
        print(f"{size:3d} folders  warm list page (app)     {summary(samples)}"
              f"   ÷ {sizes[0]} folders: {medians[size] / medians[sizes[0]]:.2f}")
    print(f"1-minute load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")


def main() -> None:
    """Print commands and milliseconds of the folder tree per size, both ways."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="6,400", help="user folders per mailbox, comma-separated")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with scratch_stack() as cfg:
        db = Database()
        db.configure(cfg["DATABASE_URL"])
        with db.transaction() as session:
            lookup.add_domain(session, "bench.test")
        print("(plus INBOX and the five special-use folders; the tree also lists nested parents)")
        sizes = [int(s) for s in args.sizes.split(",")]
        for size in sizes:
            address = f"tree{size}@bench.test"
            _mailbox(cfg, address, size)
            _report(cfg, address, size, args.rounds)
        _report_pages(cfg, sizes, args.rounds)


if __name__ == "__main__":
    main()
