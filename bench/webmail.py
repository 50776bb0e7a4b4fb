"""Webmail through HTTP against raw IMAP, at 1,000, 10,000 and 100,000 messages a folder.

Starts its own stack on free ports, fills one folder per size (bench.fill) plus a
200 KB HTML newsletter in INBOX, serves the app and times, with a signed-in cookie
jar: the list page (page 1, page 2, sorted by subject), a subject search, opening each
folder's newest message, opening the newsletter and its body frame. The same IMAP work
is timed with imapclient on one logged-in connection. Prints medians, the ratios and
the targets of issue 3.

The "cold" column is what a person meets first: the first page right after signing
in, the first list of a bulk-imported folder never sorted (Cold1k, ...: one each, so
one sample), and opening a newsletter never opened before (a copy of its own each round).

Run: python -m bench.webmail [--sizes 1000,10000,100000] [--rounds 7] [--repeat 10] [--no-warm]
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from imapclient import IMAPClient

from core.db import Database
from core.mail import imap  # noqa: F401 - imported for its imaplib line limit: a 1M-UID SORT line
from core.services.directory import lookup
from stack import manager

from . import fill
from .common import (config, scratch_overrides, seed_rspamd_cache, served, sign_in, sign_out,
                     sizes_and_logging)

log = logging.getLogger("bench.webmail")  # also when run as __main__
ADDRESS = "bench@bench.test"
PASSWORD = "benchmark-password-1"
SEARCH_WORD = "invoice"
PER_PAGE = 50
FETCH_ITEMS = ["ENVELOPE", "FLAGS", "RFC822.SIZE", "BODYSTRUCTURE"]
TARGET_GROWTH = 1.2  # list page: largest folder ÷ smallest
TARGET_OVERHEAD = 1.5  # app ÷ raw IMAP
NEWSLETTER = 0  # the "size" the newsletter figures are filed under
# (row key, label, URL suffix after /mail?folder=F); the newsletter rows are built apart.
LIST_ROWS = (
    ("list", "list page 1 (date desc)", ""),
    ("page2", "list page 2", "&page=2"),
    ("page1000", "list page 1,000 (or last)", "&page=1000"),
    ("subject", "list sorted by subject", "&sort=subject"),
    ("search", f"search subject:{SEARCH_WORD}", f"&q=subject:{SEARCH_WORD}"),
)
READ_ROWS = (("open", "open 200 KB newsletter", ""), ("body", "  its body frame", "/body"))
# Opening the newest message of each folder (UID = size: bench.fill writes oldest first).
NEWEST = ("newest", "open its newest message")


def label(size: int) -> str:
    """1000 -> '1k'."""
    return f"{size // 1000}k" if size and size % 1000 == 0 else str(size)


def folder_of(size: int, cold: bool = False) -> str:
    """The folder holding SIZE messages (COLD: its twin the app lists only once)."""
    return f"{'Cold' if cold else 'Bench'}{label(size)}"


@dataclass
class Bench:
    """A filled stack ready to measure."""

    cfg: dict
    sizes: list[int]
    fill_seconds: dict[str, float]
    newsletter_uid: int = 0
    cold_newsletters: list[int] = field(default_factory=list)  # one never opened per round


@dataclass
class Figures:
    """Samples in seconds keyed by (row, column, size); columns first/warm/raw/cold."""

    samples: dict[tuple[str, str, int], list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, row: str, column: str, size: int, seconds: float) -> None:
        """Record one sample."""
        self.samples[(row, column, size)].append(seconds)

    def ms(self, row: str, column: str, size: int) -> float | None:
        """The median in milliseconds, or None when not measured."""
        found = self.samples.get((row, column, size))
        return statistics.median(found) * 1000 if found else None


def timed(action: Callable, *args):
    """(seconds, result) of ACTION(*ARGS)."""
    start = time.perf_counter()
    result = action(*args)
    return time.perf_counter() - start, result


class RawImap:
    """The IMAP work behind each page, done directly with imapclient on one connection."""

    def __init__(self, cfg: dict, address: str = ADDRESS) -> None:
        self.client = IMAPClient(cfg["IMAP_HOST"], port=int(cfg["IMAP_PORT"]), ssl=False,
                                 timeout=120)
        self.client.login(address, PASSWORD)
        self.client.enable("CONDSTORE")  # as the app does: SELECT then reports HIGHESTMODSEQ

    def page(self, folder: str, sort: str = "DATE", page: int = 1,
             criteria: tuple = ("ALL",)) -> tuple[int, dict]:
        """SELECT, UID SORT (REVERSE SORT) CRITERIA, UID FETCH of the page's 50 UIDs."""
        self.client.select_folder(folder)
        uids = self.client.sort([f"REVERSE {sort}"], list(criteria))
        page = min(page, max(1, -(-len(uids) // PER_PAGE)))  # as the app: the last page at most
        shown = uids[(page - 1) * PER_PAGE: page * PER_PAGE]
        return len(uids), self.client.fetch(shown, FETCH_ITEMS) if shown else {}

    def search(self, folder: str) -> list[int]:
        """SELECT and UID SEARCH SUBJECT word (unsorted)."""
        self.client.select_folder(folder)
        return self.client.search(["SUBJECT", SEARCH_WORD])

    def read(self, uid: int, folder: str = "INBOX") -> bytes:
        """SELECT FOLDER and UID FETCH BODY.PEEK[] of UID."""
        self.client.select_folder(folder)
        return self.client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]

    def for_row(self, row: str, size: int, newsletter: int) -> Callable[[], object]:
        """The raw counterpart of the app's ROW at SIZE."""
        folder = folder_of(size)
        return {
            "list": lambda: self.page(folder),
            "page2": lambda: self.page(folder, page=2),
            "page1000": lambda: self.page(folder, page=1000),
            "subject": lambda: self.page(folder, sort="SUBJECT"),
            "search": lambda: self.page(folder, criteria=("SUBJECT", SEARCH_WORD)),
            "search-only": lambda: self.search(folder),
            "open": lambda: self.read(newsletter),
            "body": lambda: self.read(newsletter),
            "newest": lambda: self.read(size, folder),
        }[row]

    def close(self) -> None:
        """Log out."""
        self.client.logout()


def _add_mailbox(cfg: dict) -> None:
    database = Database()
    database.configure(cfg["DATABASE_URL"])
    with database.transaction() as session:
        lookup.add_domain(session, ADDRESS.partition("@")[2])
        lookup.add_mailbox(session, ADDRESS, PASSWORD)


@contextlib.contextmanager
def prepared_stack(sizes: list[int], newsletters: int = 1, warm: bool = True):
    """A fresh stack with the folders filled; stopped and deleted afterwards.

    Each size has a Bench and a Cold folder; INBOX gets NEWSLETTERS copies of the
    newsletter. WARM: the import caches the Date headers (bench.fill).
    """
    overrides = scratch_overrides()
    root = Path(overrides["DATA_DIR"])
    cfg = config(overrides)
    try:
        seed_rspamd_cache(cfg)
        seconds, _ = timed(manager.up, cfg)
        log.info("stack up in %.1f s (%s)", seconds, root)
        cfg = config(overrides)  # now with the secrets `up` generated
        _add_mailbox(cfg)
        filler = fill.Filler(Path(cfg["STACK_DIR"]), ADDRESS)
        filled = {folder_of(s, cold): filler.fill(folder_of(s, cold), fill.generate(s, ADDRESS), warm)
                  for s in sizes for cold in (False, True)}
        filled["INBOX"] = filler.fill("INBOX", [(fill.newsletter(ADDRESS, issue=n), time.time(), "")
                                                for n in range(1, newsletters + 1)], warm)
        yield Bench(cfg, sizes, filled)
    finally:
        seconds, _ = timed(manager.down, cfg)
        log.info("stack stopped in %.1f s", seconds)
        seconds, _ = timed(shutil.rmtree, root, True)
        log.info("%s deleted in %.1f s", root, seconds)


def measure_cold(raw: RawImap, bench: Bench, figures: Figures) -> None:
    """Find the newsletter; time the first touch of each bulk-imported folder (one-off)."""
    raw.client.select_folder("INBOX")
    found = sorted(raw.client.search(["HEADER", "Message-ID", "@news.example"]))
    bench.newsletter_uid, bench.cold_newsletters = found[0], found[1:]
    for size in bench.sizes:  # Dovecot caches the Date and Subject headers on first use
        for row in ("list", "subject", "search-only"):
            figures.add(row, "rawcold", size, timed(raw.for_row(row, size, 0))[0])


def _urls(base: str, bench: Bench) -> list[tuple[str, int, str]]:
    urls = [(row, size, f"{base}/mail?folder={folder_of(size)}{suffix}")
            for size in bench.sizes for row, _, suffix in LIST_ROWS]
    urls += [(NEWEST[0], size, f"{base}/mail/{size}?folder={folder_of(size)}") for size in bench.sizes]
    uid = bench.newsletter_uid
    return urls + [(row, NEWSLETTER, f"{base}/mail/{uid}{suffix}?folder=INBOX")
                   for row, _, suffix in READ_ROWS]


def _get(opener, url: str) -> tuple[float, str]:
    seconds, response = timed(lambda: opener.open(url).read())
    return seconds, response.decode("utf-8", errors="replace")


def _check(row: str, size: int, html: str, totals: dict) -> None:
    """Fail loudly when a page is not what was asked for (a sign-in page, an error)."""
    if row == NEWEST[0] and f'data-count="messages">{size}<' not in html:
        raise RuntimeError(f"the newest message of {label(size)} did not open beside its list")
    if row in ("list", "page2", "page1000", "subject", "search"):
        want = size if row != "search" else totals[size]
        if f'data-count="messages">{want}<' not in html:
            raise RuntimeError(f"{row} at {label(size)}: expected {want} messages in the page")
        if html.count('<li class="row') != min(PER_PAGE, want):
            raise RuntimeError(f"{row} at {label(size)}: expected {min(PER_PAGE, want)} rows")
    elif row == "open" and "Weekly news: the big newsletter" not in html:
        raise RuntimeError("the newsletter did not open")
    elif row == "body" and "Story 1:" not in html:
        raise RuntimeError("the newsletter's body frame is empty")


def measure_first(base: str, bench: Bench, figures: Figures, rounds: int, totals: dict) -> None:
    """Each URL once in each of ROUNDS fresh web sessions (the app's caches are per session).

    Cold: the page the sign-in leads to, a newsletter copy never opened (its frame too),
    and in the first round the first list of each Cold folder (never sorted).
    """
    for number in range(rounds):
        opener, seconds = sign_in(base, ADDRESS, PASSWORD, timed_landing=True)
        figures.add("signin", "cold", NEWSLETTER, seconds)
        for row, size, url in _cold_urls(base, bench, number):
            seconds, html = _get(opener, url)
            _check(row, size, html, totals)
            figures.add(row, "cold", size, seconds)
        for row, size, url in _urls(base, bench):
            seconds, html = _get(opener, url)
            _check(row, size, html, totals)
            figures.add(row, "first", size, seconds)
        sign_out(base, opener)  # Dovecot allows 20 connections per user and address


def _cold_urls(base: str, bench: Bench, number: int) -> list[tuple[str, int, str]]:
    urls = []
    if number < len(bench.cold_newsletters):
        uid = bench.cold_newsletters[number]
        urls += [(row, NEWSLETTER, f"{base}/mail/{uid}{suffix}?folder=INBOX")
                 for row, _, suffix in READ_ROWS]
    if number == 0:
        urls += [("list", s, f"{base}/mail?folder={folder_of(s, cold=True)}") for s in bench.sizes]
    return urls


def measure_warm(base: str, raw: RawImap, bench: Bench, figures: Figures, repeat: int) -> None:
    """REPEAT cycles over every page, each app request next to its raw IMAP twin.

    Interleaving keeps a burst of load on the shared machine from landing on one
    side or one folder only, so the ratios stay meaningful.
    """
    opener = sign_in(base, ADDRESS, PASSWORD)
    pairs = [(row, size, url, raw.for_row(row, size, bench.newsletter_uid))
             for row, size, url in _urls(base, bench)]
    pairs += [("search-only", s, "", raw.for_row("search-only", s, 0)) for s in bench.sizes]
    for cycle in range(repeat + 1):  # cycle 0 warms both sides up and is not counted
        for row, size, url, action in pairs:
            app_seconds = _get(opener, url)[0] if url else None
            raw_seconds = timed(action)[0]
            if cycle:
                figures.add(row, "raw", size, raw_seconds)
                if app_seconds is not None:
                    figures.add(row, "warm", size, app_seconds)
    sign_out(base, opener)


def _fmt(value: float | None, width: int = 9) -> str:
    return f"{value:{width}.1f}" if value is not None else " " * (width - 1) + "-"


def _ratio(a: float | None, b: float | None, target: float) -> str:
    if a is None or b is None or not b:
        return f"{'-':>12}"
    value = a / b
    return f"{value:6.2f} {'met' if value <= target else 'MISS':>5}"


def report(bench: Bench, figures: Figures, load_before: float) -> str:
    """The table: medians, app ÷ raw, then the growth of the list page with folder size."""
    sizes = bench.sizes
    lines = [
        f"Machine: {os.cpu_count()} CPUs, 1-minute load average {load_before:.1f} before the "
        f"measures and {os.getloadavg()[0]:.1f} after (other work on the machine inflates figures).",
        "Fill: " + ", ".join(f"{name} {sec:.1f} s" for name, sec in bench.fill_seconds.items()),
        "",
        "Medians in ms. first = each page once in a new web session (its caches empty; page 2",
        "follows page 1); warm = the pages again in one session, visited in turn; raw = the same",
        "IMAP work by imapclient on one connection (search: SORT with the SUBJECT criterion).",
        "cold = a new web session's first page after sign-in, the first list of a bulk-imported",
        "folder never sorted (one sample), a newsletter never opened (a copy of its own each round).",
        f"{'what':<28}{'size':>6}{'app cold':>10}{'app first':>10}{'app warm':>10}{'raw IMAP':>10}"
        f"{'first÷raw':>13}{'warm÷raw':>13}   (target app÷raw ≤ {TARGET_OVERHEAD})",
    ]
    rows = [(r, text, s) for r, text, _ in LIST_ROWS for s in sizes]
    rows += [("search-only", "  raw UID SEARCH SUBJECT only", s) for s in sizes]
    rows += [(NEWEST[0], NEWEST[1], s) for s in sizes]
    rows += [(r, text, NEWSLETTER) for r, text, _ in READ_ROWS]
    rows += [("signin", "first page after sign-in", NEWSLETTER)]
    for row, text, size in rows:
        cold, first, warm, raw = (figures.ms(row, c, size) for c in ("cold", "first", "warm", "raw"))
        lines.append(f"{text:<28}{label(size) if size else 'INBOX':>6}{_fmt(cold, 10)}{_fmt(first, 10)}"
                     f"{_fmt(warm, 10)}{_fmt(raw, 10)} {_ratio(first, raw, TARGET_OVERHEAD)}"
                     f" {_ratio(warm, raw, TARGET_OVERHEAD)}")
    lines += ["", "One-off: the first touch of a bulk-imported folder (Dovecot's cache cold), raw IMAP, ms"]
    for row, text in (("list", "SELECT+SORT (REVERSE DATE)+FETCH"),
                      ("subject", "SELECT+SORT (REVERSE SUBJECT)+FETCH"),
                      ("search-only", "SELECT+SEARCH SUBJECT")):
        lines.append(f"{text:<38}" + "".join(f"{label(s):>6}{_fmt(figures.ms(row, 'rawcold', s))}"
                                             for s in sizes))
    lines += ["", "The app's list FETCH also asks for INTERNALDATE and PREVIEW; the raw one only for "
              "ENVELOPE FLAGS RFC822.SIZE BODYSTRUCTURE."]
    return "\n".join(lines + _growth(figures, sizes) + _cold_targets(figures, sizes))


# (row, size or None for the largest, what, target ms): issue 17's table.
COLD_TARGETS = (("open", NEWSLETTER, "first open of a 200 KB newsletter never opened", 60),
                ("list", None, "first list of a folder never sorted (bulk import)", 600),
                ("signin", NEWSLETTER, "first list right after sign-in", 60))


def _cold_targets(figures: Figures, sizes: list[int]) -> list[str]:
    lines = ["", "Cold paths against issue 17's targets (medians, ms)"]
    for row, size, text, target in COLD_TARGETS:
        size = max(sizes) if size is None else size
        value = figures.ms(row, "cold", size)
        verdict = "-" if value is None else ("met" if value <= target else "MISS")
        lines.append(f"{text:<52}{label(size) if size else 'INBOX':>6}{_fmt(value)}  ≤ {target:>4}  {verdict}")
    return lines


def _growth(figures: Figures, sizes: list[int]) -> list[str]:
    small, big = min(sizes), max(sizes)
    lines = ["", f"Growth {label(big)} ÷ {label(small)}; target for the list page ≤ {TARGET_GROWTH} "
             "(other rows for reference)",
             f"{'':<28}{'app first':<12}{'app warm':<12}{'raw IMAP':<12}"]
    for row, text, _ in LIST_ROWS:
        cells = ""
        for column in ("first", "warm", "raw"):
            a, b = figures.ms(row, column, big), figures.ms(row, column, small)
            cell = f"{a / b:5.2f}" if a and b else "    -"
            if row == "list" and column != "raw" and a and b:
                cell += " met" if a / b <= TARGET_GROWTH else " MISS"
            cells += f"{cell:<12}"
        lines.append(f"{text:<28}{cells}")
    return lines


def main(argv: list[str] | None = None) -> None:
    """Fill, measure, print the table; the stack is stopped and deleted whatever happens."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="comma-separated folder sizes (default 1000,10000,100000)")
    parser.add_argument("--rounds", type=int, default=7, help="fresh web sessions for first views")
    parser.add_argument("--repeat", type=int, default=10, help="timed repeats of each warm view")
    parser.add_argument("--no-warm", action="store_true",
                        help="import without caching the Date headers (as before issue 17)")
    args = parser.parse_args(argv)
    sizes = sizes_and_logging(args.sizes)
    figures = Figures()
    began = time.perf_counter()
    with prepared_stack(sizes, args.rounds + 1, not args.no_warm) as bench:
        raw = RawImap(bench.cfg)
        load_before = os.getloadavg()[0]
        try:
            measure_cold(raw, bench, figures)
            totals = {s: raw.for_row("search", s, 0)()[0] for s in sizes}
            from app import create_app

            app = create_app({**bench.cfg, "LOGIN_LIMIT_ADDRESS": "1000 per minute",
                              "LOGIN_LIMIT_IP": "1000 per minute"})
            with served(app) as base:
                log.info("first views in %d fresh web sessions", args.rounds)
                measure_first(base, bench, figures, args.rounds, totals)
                log.info("%d warm cycles, app and raw IMAP interleaved", args.repeat)
                measure_warm(base, raw, bench, figures, args.repeat)
        finally:
            raw.close()
        print(report(bench, figures, load_before))
    print(f"\nWhole run {time.perf_counter() - began:.0f} s (stack, fill, measures, clean-up).")


if __name__ == "__main__":
    main()
