"""Conversations against messages: page 1 of the same folder in both views, through HTTP.

Starts its own stack, fills one threaded folder per size (bench.threads: ~40 % replies)
for one person, with their answers in Sent, and gives a twin the very same Maildir
(bench.fill's clone); one lists messages, the twin conversations. Times page 1 of each:

  first   the first list of the folder ever (for conversations Dovecot builds its
          thread index of the folder then: a one-off);
  restart the first list after the app's caches were emptied, as by a restart (the
          SORT, and for conversations the threads read back from Redis, which a
          restart keeps, and the search of Sent);
  warm    the page again, nothing changed;
  changed the page right after a new message arrived in the folder (a new SORT for
          messages; for conversations the new message joins the cached threads), one new
          message per sample, every other one an answer to the newest message there.

Raw IMAP beside it: SELECT + UID SORT, and SELECT + UID THREAD REFS, on one
connection. Prints medians and conversations ÷ messages against issue 20's target (≤ 2).

Run: python -m bench.conversations [--sizes 1000,10000,100000] [--repeat 10]
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import time
from pathlib import Path

from core.db import Database
from core.mail import imap, listing  # noqa: F401 - imap: its imaplib line limit (a 100k-UID THREAD line)
from core.services.directory import lookup
from core.services.mail import identities
from stack import manager
from webmail.context import sort_cache

from . import fill, threads
from .common import (config, scratch_overrides, seed_rspamd_cache, served, sign_in, sign_out,
                     sizes_and_logging)
from .webmail import PASSWORD, Figures, RawImap, label, timed

log = logging.getLogger("bench.conversations")
MESSAGES, CONVERSATIONS = "bench@bench.test", "twin@bench.test"
TARGET = 2.0  # conversations ÷ messages, page 1
COLUMNS = ("first", "restart", "warm", "changed")
RESTARTS = 3  # samples of "restart"


def folder_of(size: int) -> str:
    """The threaded folder of SIZE messages."""
    return f"Conv{label(size)}"


@contextlib.contextmanager
def prepared_stack(sizes: list[int]):
    """A fresh stack: MESSAGES with a threaded folder per size and Sent, CONVERSATIONS its twin."""
    overrides = scratch_overrides()
    cfg = config(overrides)
    try:
        seed_rspamd_cache(cfg)
        manager.up(cfg)
        cfg = config(overrides)
        database = Database()
        database.configure(cfg["DATABASE_URL"])
        with database.transaction() as session:
            lookup.add_domain(session, "bench.test")
            for address in (MESSAGES, CONVERSATIONS):
                lookup.add_mailbox(session, address, PASSWORD)
            identities.save_list_view(session, CONVERSATIONS, True)
        filler = fill.Filler(Path(cfg["STACK_DIR"]), MESSAGES)
        answers = []
        for size in sizes:
            inbox = list(threads.threaded(fill.generate(size, MESSAGES)))
            filler.fill(folder_of(size), inbox)
            answers += threads.sent_answers(inbox, MESSAGES, seed=size)
        filler.fill("Sent", answers)
        filler.clone(CONVERSATIONS)
        log.info("filled %s and Sent (%d answers); twin cloned", ", ".join(map(folder_of, sizes)),
                 len(answers))
        yield cfg
    finally:
        manager.down(cfg)
        shutil.rmtree(overrides["DATA_DIR"], ignore_errors=True)


class Raw(RawImap):
    """RawImap with THREAD beside SORT, and new mail on demand."""

    def thread(self, folder: str) -> bytes:
        """SELECT and UID THREAD REFS UTF-8 ALL, the answer left unparsed as the app does."""
        self.client.select_folder(folder)
        return b"".join(self.client._raw_command_untagged(b"THREAD", [b"REFS", b"UTF-8", b"ALL"]))

    def arrive(self, folder: str, number: int) -> None:
        """APPEND one new message to FOLDER: every other one answers the newest message there."""
        head = f"From: new@example.org\r\nTo: {MESSAGES}\r\nMessage-ID: <new.{number}@bench.test>\r\n"
        if number % 2:
            uidnext = self.client.select_folder(folder, readonly=True)[b"UIDNEXT"]
            uid = max(self.client.search(["UID", f"{uidnext - 1}:*"]))  # the newest, "*" at least
            newest = self.client.fetch([uid], [b"ENVELOPE"])[uid][b"ENVELOPE"]
            parent = newest.message_id.decode()
            head += f"In-Reply-To: {parent}\r\nReferences: {parent}\r\nSubject: Re: news {number}\r\n"
        else:
            head += f"Subject: news {number}\r\n"
        self.client.append(folder, (head + "\r\nhello\r\n").encode())


def _forget_lists() -> None:
    """Empty the app's caches of sorted lists, conversations and rows, as a restart would."""
    for cache in (sort_cache, listing.row_cache):
        size = cache.max_size
        cache.resize(0)
        cache.resize(size)


def measure(base: str, cfg: dict, sizes: list[int], repeat: int, figures: Figures) -> None:
    """Page 1 of each folder in both views: first, warm and after a new message."""
    openers = {view: sign_in(base, address, PASSWORD)
               for view, address in (("messages", MESSAGES), ("conversations", CONVERSATIONS))}
    raws = {view: Raw(cfg, address) for view, address in (("messages", MESSAGES),
                                                           ("conversations", CONVERSATIONS))}
    try:
        for size in sizes:
            url = f"{base}/mail?folder={folder_of(size)}"
            for view, opener in openers.items():
                figures.add(view, "first", size, timed(lambda: opener.open(url).read())[0])
            for cycle in range(repeat * 2 + 1):  # warm and changed in turn; cycle 0 not counted
                changed = cycle % 2 == 0 and cycle > 0
                for view, opener in openers.items():
                    if cycle and cycle <= RESTARTS:
                        _forget_lists()
                        figures.add(view, "restart", size, timed(lambda: opener.open(url).read())[0])
                    if changed:
                        raws[view].arrive(folder_of(size), cycle // 2 + size)
                    seconds = timed(lambda: opener.open(url).read())[0]
                    if cycle:
                        figures.add(view, "changed" if changed else "warm", size, seconds)
                raw_messages = timed(lambda: raws["messages"].page(folder_of(size)))[0]
                raw_threads = timed(lambda: raws["conversations"].thread(folder_of(size)))[0]
                if cycle:
                    figures.add("messages", "raw", size, raw_messages)
                    figures.add("conversations", "raw", size, raw_threads)
    finally:
        for view, opener in openers.items():
            sign_out(base, opener)
            raws[view].close()


def report(figures: Figures, sizes: list[int], load_before: float) -> str:
    """Medians per view and column, and conversations ÷ messages."""
    lines = [f"Machine: {os.cpu_count()} CPUs, 1-minute load {load_before:.1f} before, "
             f"{os.getloadavg()[0]:.1f} after.", "",
             "Page 1, medians in ms (first: one sample; restart: 3). raw: SELECT+SORT+FETCH of 50 for messages,",
             "SELECT+THREAD REFS (unparsed) for conversations, on one IMAP connection.",
             f"{'size':>6}{'view':>15}" + "".join(f"{c:>10}" for c in (*COLUMNS, "raw"))]
    for size in sizes:
        for view in ("messages", "conversations"):
            cells = "".join(f"{figures.ms(view, c, size) or 0:10.1f}" for c in (*COLUMNS, "raw"))
            lines.append(f"{label(size):>6}{view:>15}{cells}")
        ratios = []
        for column in (*COLUMNS, "raw"):
            a, b = figures.ms("conversations", column, size), figures.ms("messages", column, size)
            ratios.append(f"{a / b:10.2f}" if a and b else f"{'-':>10}")
        lines.append(f"{label(size):>6}{'conv ÷ msgs':>15}" + "".join(ratios))
    biggest = max(sizes)
    verdicts = []
    for column in COLUMNS[1:]:  # "first" is a one-off per folder
        ratio = figures.ms("conversations", column, biggest) / figures.ms("messages", column, biggest)
        verdicts.append(f"{column} {ratio:.2f} {'met' if ratio <= TARGET else 'MISS'}")
    lines += ["", f"Target (issue 20): page 1 of conversations ≤ {TARGET} × page 1 of messages at "
              f"{label(biggest)}: " + ", ".join(verdicts)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Fill, measure, print; the stack is stopped and deleted whatever happens."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=10, help="samples of warm and of changed")
    args = parser.parse_args(argv)
    sizes = sizes_and_logging(args.sizes)
    figures = Figures()
    began = time.perf_counter()
    with prepared_stack(sizes) as cfg:
        from app import create_app

        app = create_app({**cfg, "LOGIN_LIMIT_ADDRESS": "1000 per minute",
                          "LOGIN_LIMIT_IP": "1000 per minute"})
        load_before = os.getloadavg()[0]
        with served(app) as base:
            measure(base, cfg, sizes, args.repeat, figures)
        print(report(figures, sizes, load_before))
    print(f"\nWhole run {time.perf_counter() - began:.0f} s.")


if __name__ == "__main__":
    main()
