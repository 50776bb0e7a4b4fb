"""The web app's resident memory with many people signed in, each on a big folder.

Starts its own stack on free ports, fills one person's folder with SIZE messages
(bench.fill) and gives PEOPLE-1 others a copy (hard-linked Maildirs), serves the app as
one `python app.py` process and signs every person in, each on their own session,
listing page 1 and page 2 of the folder and opening one message. Prints the app's
resident memory (VmRSS) idle, after the sign-ins and after everyone listed, against
issue 17's target (under 150 MB with 50 people on 100,000-message folders).

Run: python -m bench.memory [--people 50] [--size 100000] [--cache-mb 64]
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import time
from pathlib import Path

from . import fill
from .common import database, overrides_of, scratch_stack, sign_in, sign_out
from .load import app_process, rss_mb

log = logging.getLogger("bench.memory")
DOMAIN = "mem.test"
PASSWORD = "benchmark-password-1"
FOLDER = "Big"
TARGET_MB = 150
UID_LINK = re.compile(rf'href="/mail/(\d+)\?folder={FOLDER}"')


def populate(cfg: dict, people: int, size: int) -> list[str]:
    """PEOPLE mailboxes, each with a FOLDER of SIZE messages; their addresses."""
    from core.services.directory import lookup

    addresses = [f"person{n}@{DOMAIN}" for n in range(people)]
    with database(cfg).transaction() as session:
        lookup.add_domain(session, DOMAIN)
        for address in addresses:
            lookup.add_mailbox(session, address, PASSWORD)
    first = fill.Filler(Path(cfg["STACK_DIR"]), addresses[0])
    first.fill(FOLDER, fill.generate(size, addresses[0]))
    began = time.perf_counter()
    for address in addresses[1:]:
        first.clone(address)
    log.info("%d copies in %.1f s", people - 1, time.perf_counter() - began)
    return addresses


def visit(base: str, address: str):
    """Sign ADDRESS in, list pages 1 and 2 of FOLDER, open its newest message; the opener."""
    opener = sign_in(base, address, PASSWORD)
    page = opener.open(f"{base}/mail?folder={FOLDER}").read().decode()
    opener.open(f"{base}/mail?folder={FOLDER}&page=2").read()
    opener.open(f"{base}/mail/{UID_LINK.search(page).group(1)}?folder={FOLDER}").read()
    return opener


def main(argv: list[str] | None = None) -> None:
    """Fill, serve, sign everyone in, print the app's memory; clean up whatever happens."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--cache-mb", type=int, default=64, help="MAILROOM_CACHE_MB of the app")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with scratch_stack() as cfg:
        overrides = overrides_of(cfg)
        addresses = populate(cfg, args.people, args.size)
        with app_process({**overrides, "CACHE_MB": args.cache_mb}, threads=8) as (base, pid):
            idle = rss_mb(pid)
            began = time.perf_counter()
            openers = [visit(base, address) for address in addresses]
            seconds = time.perf_counter() - began
            busy = rss_mb(pid)
            for opener in openers:  # each once more, now that every cache is full
                opener.open(f"{base}/mail?folder={FOLDER}").read()
            again = rss_mb(pid)
            for opener in openers:
                sign_out(base, opener)
            print(f"{args.people} people, {args.size} messages each, MAILROOM_CACHE_MB={args.cache_mb}: "
                  f"app RSS idle {idle:.0f} MiB, after everyone listed {busy:.0f} MiB "
                  f"({seconds:.0f} s), after a second round {again:.0f} MiB; target < {TARGET_MB} MB: "
                  f"{'met' if max(busy, again) < TARGET_MB else 'MISS'}; load average "
                  f"{os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
