"""Closed-loop throughput of the warm list page of a 100,000-message folder.

Starts its own stack on free ports, fills one folder (bench.fill), serves the app as one
`python app.py` (waitress, MAILROOM_THREADS) process, signs CLIENTS people's sessions in
(one mailbox, a session each) and has each ask for the folder's first list page again as
soon as the last answer came, for SECONDS. Prints requests per second, the median and
90th percentile, the app's resident memory and the load average. With --profile it also
times the same page in-process (Flask's test client, no HTTP) and prints where a request
spends its time (cProfile).

Run: python -m bench.throughput [--size 100000] [--clients 8] [--seconds 20] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import statistics
import threading
import time
from pathlib import Path

from . import fill
from .common import (app_client, database, overrides_of, scratch_stack,
                     sign_in, sign_out)
from .load import app_process, percentile, rss_mb

log = logging.getLogger("bench.throughput")
ADDRESS = "loop@bench.test"
PASSWORD = "benchmark-password-1"
FOLDER = "Bench"


def _prepare(cfg: dict, size: int) -> None:
    from core.services.directory import lookup

    with database(cfg).transaction() as session:
        lookup.add_domain(session, ADDRESS.partition("@")[2])
        lookup.add_mailbox(session, ADDRESS, PASSWORD)
    fill.Filler(Path(cfg["STACK_DIR"]), ADDRESS).fill(FOLDER, fill.generate(size, ADDRESS))


def closed_loop(base: str, clients: int, seconds: float) -> tuple[list[float], float]:
    """(latencies, wall seconds) of CLIENTS sessions each asking for the page in a loop."""
    url = f"{base}/mail?folder={FOLDER}"
    openers = [sign_in(base, ADDRESS, PASSWORD) for _ in range(clients)]
    for opener in openers:  # every session's sorted list and rows are cached now
        opener.open(url).read()
    latencies: list[float] = []
    lock = threading.Lock()
    began = time.perf_counter()
    until = began + seconds

    def loop(opener) -> None:
        mine = []
        while time.perf_counter() < until:
            start = time.perf_counter()
            opener.open(url).read()
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=loop, args=(o,)) for o in openers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    for opener in openers:
        sign_out(base, opener)
    return latencies, wall


def profile_in_process(cfg: dict, requests: int) -> None:
    """Time the warm page in-process, then profile REQUESTS of it; print both."""
    from app import create_app

    web = app_client(create_app(cfg), ADDRESS, PASSWORD)
    url = f"/mail?folder={FOLDER}"
    for _ in range(3):
        web.get(url)
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        web.get(url)
        samples.append(time.perf_counter() - start)
    print(f"in-process warm page: median {statistics.median(samples) * 1000:.1f} ms, "
          f"min {min(samples) * 1000:.1f} ms (n={requests}, no profiler)")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        web.get(url)
    profiler.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(60)
        print(f"\n--- {requests} requests by {order} ---")
        print("\n".join(out.getvalue().splitlines()[6:75]))


def main(argv: list[str] | None = None) -> None:
    """Fill, serve, loop, print; the stack is stopped and deleted whatever happens."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="messages in the folder")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--threads", type=int, default=8, help="the app's waitress threads")
    parser.add_argument("--profile", action="store_true", help="also profile in-process")
    parser.add_argument("--requests", type=int, default=200, help="profiled requests")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with scratch_stack() as cfg:
        overrides = overrides_of(cfg)
        _prepare(cfg, args.size)
        with app_process(overrides, args.threads) as (base, pid):
            load_before = os.getloadavg()[0]
            latencies, wall = closed_loop(base, args.clients, args.seconds)
            ms = [s * 1000 for s in latencies]
            print(f"{args.clients} clients, {args.size} messages, {args.threads} threads: "
                  f"{len(ms) / wall:.1f} requests/s, median {statistics.median(ms):.1f} ms, "
                  f"p90 {percentile(latencies, 0.9):.1f} ms, n={len(ms)} in {wall:.1f} s; "
                  f"app RSS {rss_mb(pid):.0f} MiB; load average {load_before:.1f} before, "
                  f"{os.getloadavg()[0]:.1f} after ({os.cpu_count()} CPUs)")
        if args.profile:
            profile_in_process(cfg, args.requests)


if __name__ == "__main__":
    main()
