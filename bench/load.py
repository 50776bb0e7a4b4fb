"""Many people using the webmail at once while mail arrives over SMTP.

Starts its own stack on free ports, creates SESSIONS mailboxes with a filled Inbox,
serves the app as one `python app.py` (waitress) process and drives it over HTTP, no
browser: each virtual person signs in, lists, pages, opens a message and its body,
searches, sometimes sends, and now and then signs out and in again. Meanwhile
SMTP_CLIENTS hand well-formed messages to Postfix's inbound port. Prints, per route,
the count, errors and p50/p95/p99 latency; the same for SMTP acceptance; IMAP
connections open at Dovecot (`doveadm who`) during and after; the app's resident
memory; and any "database is locked" or throttling line in Postfix's and Dovecot's
logs. It never passes or fails on time.

Run: python -m bench.load [--sessions 30] [--minutes 10] [--smtp-clients 4] [--think 1.0]
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import re
import smtplib
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Collection

from core.db import Database
from core.services.directory import lookup
from stack import manager
from stack.deploy import app_home

from . import fill
from .common import config, free_ports, scratch_overrides, seed_rspamd_cache, sign_in, sign_out

log = logging.getLogger("bench.load")
DOMAIN = "load.test"
PASSWORD = "load-test-password-1"
INBOX_SIZE = 500
LOG_FAILURES = ("database is locked", "throttling", "SQL step failed", "SQL prepare failed")
UID_LINK = re.compile(r'href="/mail/(\d+)\?folder=INBOX"')


class Recorder:
    """Latency samples and errors per route, shared by every thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    @contextmanager
    def timed(self, route: str):
        """Time the block as one request of ROUTE; an exception counts as its error."""
        began = time.perf_counter()
        try:
            yield
        except (OSError, urllib.error.URLError, smtplib.SMTPException, RuntimeError) as exc:
            with self.lock:
                self.errors[route].append(repr(exc)[:200])
        else:
            with self.lock:
                self.samples[route].append(time.perf_counter() - began)


def percentile(values: list[float], share: float) -> float:
    """The SHARE-quantile (0..1) of VALUES by nearest rank, in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _get(opener, url: str) -> str:
    return opener.open(url, timeout=60).read().decode()


def _send(base: str, opener, sender: str, to: str) -> None:
    form = _get(opener, base + "/compose")
    fields = {name: re.search(rf'name="{name}" value="([^"]*)"', form).group(1)
              for name in ("csrf_token", "compose_id", "message_id")}
    data = {**fields, "from": sender, "to": to, "subject": "Load test note",
            "body": "Sent by bench.load.\n"}
    page = opener.open(base + "/compose/send", urllib.parse.urlencode(data).encode(), timeout=60)
    if "Message sent" not in page.read().decode():
        raise RuntimeError("send did not confirm")


def person(base: str, address: str, others: list[str], until: float, think: float,
           rec: Recorder) -> None:
    """One virtual person until UNTIL; signs out and in again every ~20 steps."""
    rng = random.Random(address)
    opener = None
    step = 0
    while time.monotonic() < until:
        if opener is None:
            with rec.timed("sign in + first page"):
                opener = sign_in(base, address, PASSWORD)
            if opener is None:
                time.sleep(think)
                continue
        listing = ""
        with rec.timed("list page 1"):
            listing = _get(opener, base + "/mail?folder=INBOX")
        with rec.timed("list page 2"):
            _get(opener, base + "/mail?folder=INBOX&page=2")
        uids = UID_LINK.findall(listing)
        if uids:
            uid = rng.choice(uids)
            with rec.timed("open message"):
                _get(opener, f"{base}/mail/{uid}?folder=INBOX")
            with rec.timed("message body"):
                _get(opener, f"{base}/mail/{uid}/body?folder=INBOX")
        with rec.timed("search"):
            _get(opener, base + "/mail?folder=INBOX&q=subject:" + rng.choice(fill.WORDS))
        if step % 10 == 5:
            with rec.timed("compose + send"):
                _send(base, opener, address, rng.choice(others))
        step += 1
        if step % 20 == 0:
            with rec.timed("sign out"):
                sign_out(base, opener)
            opener = None
        time.sleep(rng.uniform(0, 2 * think))
    if opener is not None:
        with rec.timed("sign out"):
            sign_out(base, opener)


def smtp_client(cfg: dict, recipients: list[str], until: float, rec: Recorder) -> None:
    """Deliver one well-formed message per connection to the inbound port until UNTIL."""
    count = 0
    while time.monotonic() < until:
        msg = EmailMessage()
        msg["From"], msg["To"] = "news@outside.test", recipients[count % len(recipients)]
        msg["Subject"] = f"Inbound {threading.get_ident()} {count}"
        msg.set_content("An ordinary message from outside, a few lines long.\n" * 8)
        with rec.timed("SMTP accept"):
            with smtplib.SMTP(cfg["LISTEN_ADDRESS"], cfg["SMTP_PORT"], local_hostname="localhost",
                              timeout=60) as conn:
                conn.send_message(msg)
        count += 1
        time.sleep(0.2)


def imap_connections(cfg: dict, users: Collection[str]) -> int:
    """IMAP connections of USERS Dovecot has open right now (`doveadm who -1`, one line each)."""
    conf = Path(cfg["STACK_DIR"]) / "etc" / "dovecot" / "dovecot.conf"
    done = subprocess.run(["doveadm", "-c", str(conf), "who", "-1"], capture_output=True,
                          text=True, timeout=30, check=False)
    rows = [line.split() for line in done.stdout.splitlines()[1:]]
    return sum(1 for row in rows if len(row) > 1 and row[0] in users and row[1] == "imap")


def rss_mb(pid: int) -> float:
    """Resident memory of process PID in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def monitor(cfg: dict, pid: int, users: list[str], stop: threading.Event, seen: dict) -> None:
    """Sample the people's IMAP connections (all, and the most of one person) and the app's
    memory every 5 s."""
    while not stop.wait(5):
        seen["imap_max"] = max(seen.get("imap_max", 0), imap_connections(cfg, users))
        seen["per_user_max"] = max([seen.get("per_user_max", 0)]
                                   + [imap_connections(cfg, [u]) for u in users[:3]])
        seen["rss_max"] = max(seen.get("rss_max", 0.0), rss_mb(pid))


def log_failures(cfg: dict, offsets: dict[str, int]) -> dict[str, int]:
    """Lines in Postfix's and Dovecot's logs, since OFFSETS, that mean mail flow broke."""
    found = {}
    for name, offset in offsets.items():
        with open(Path(cfg["STACK_DIR"]) / "log" / f"{name}.log", "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
        found[name] = sum(1 for line in text.splitlines() if any(m in line for m in LOG_FAILURES))
    return found


def populate(cfg: dict, sessions: int, domain: str = DOMAIN, size: int = INBOX_SIZE) -> list[str]:
    """SESSIONS mailboxes on a new DOMAIN, each with SIZE messages; return their addresses."""
    db = Database()
    db.configure(cfg["DATABASE_URL"])
    addresses = [f"person{n}@{domain}" for n in range(sessions)]
    with db.transaction() as session:
        lookup.add_domain(session, domain)
        for address in addresses:
            lookup.add_mailbox(session, address, PASSWORD)
    for address in addresses:
        fill.Filler(Path(cfg["STACK_DIR"]), address).fill("INBOX", fill.generate(size, address))
    db.engine.dispose()
    return addresses


@contextmanager
def app_process(overrides: dict, threads: int):
    """`python app.py` as the mailroom user, as production runs it, on a free port with
    this stack's settings; yield (base URL, pid)."""
    port = free_ports(1)[0]
    env = {**os.environ, **{f"MAILROOM_{k}": str(v) for k, v in overrides.items()},
           "MAILROOM_PORT": str(port), "MAILROOM_THREADS": str(threads),
           "MAILROOM_LOGIN_LIMIT_ADDRESS": "1000 per minute",
           "MAILROOM_LOGIN_LIMIT_IP": "10000 per minute"}
    home = app_home(Path(__file__).resolve().parent.parent, Path(overrides["DATA_DIR"]))
    proc = subprocess.Popen([str(home / ".venv" / "bin" / "python"), "app.py"], cwd=home, env=env,
                            user="mailroom", group="mailroom", extra_groups=[],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/login", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def report(rec: Recorder, seen: dict, seconds: float) -> None:
    """Print the table of routes and the mail-flow figures."""
    print(f"\n{'route':24} {'count':>7} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for route in sorted(set(rec.samples) | set(rec.errors)):
        values = rec.samples[route]
        print(f"{route:24} {len(values):7d} {len(rec.errors[route]):6d} {percentile(values, .5):8.1f} "
              f"{percentile(values, .95):8.1f} {percentile(values, .99):8.1f}")
    requests = sum(len(v) for route, v in rec.samples.items() if route != "SMTP accept")
    print(f"\nweb requests: {requests} in {seconds:.0f} s ({requests / seconds:.1f}/s)")
    print(f"IMAP connections at Dovecot: max {seen.get('imap_max', 0)} during "
          f"(one person: max {seen.get('per_user_max', 0)}), "
          f"{seen['imap_after']} after the sessions ended")
    print(f"app resident memory: {seen['rss_start']:.0f} MiB at start, max {seen.get('rss_max', 0):.0f}, "
          f"{seen['rss_end']:.0f} at the end")
    print(f"log lines that mean mail flow broke: {seen['log_failures']}")
    for route, errors in rec.errors.items():
        for text in errors[:3]:
            print(f"  error in {route}: {text}")


def drive(cfg: dict, base: str, pid: int, addresses: list[str], seconds: float,
          smtp_clients: int, think: float) -> tuple[Recorder, dict, float]:
    """People at BASE (the app, process PID) and SMTP clients for SECONDS; return what was
    seen: the recorder, the figures (IMAP connections during and after, memory, log lines
    that mean mail flow broke) and the seconds the run took."""
    offsets = {name: (Path(cfg["STACK_DIR"]) / "log" / f"{name}.log").stat().st_size
               for name in ("postfix", "dovecot")}
    rec, stop, seen = Recorder(), threading.Event(), {"rss_start": rss_mb(pid)}
    until = time.monotonic() + seconds
    workers = [threading.Thread(target=person, args=(base, a, addresses, until, think, rec))
               for a in addresses]
    workers += [threading.Thread(target=smtp_client, args=(cfg, addresses, until, rec))
                for _ in range(smtp_clients)]
    watcher = threading.Thread(target=monitor, args=(cfg, pid, addresses, stop, seen), daemon=True)
    began = time.monotonic()
    for thread in [*workers, watcher]:
        thread.start()
    for thread in workers:
        thread.join()
    took = time.monotonic() - began
    stop.set()
    time.sleep(2)  # logouts of pooled connections finish
    seen.update(imap_after=imap_connections(cfg, addresses), rss_end=rss_mb(pid),
                log_failures=log_failures(cfg, offsets))
    return rec, seen, took


def run(sessions: int, minutes: float, smtp_clients: int, think: float, threads: int) -> None:
    """Start a stack, load it, print the figures, stop it."""
    overrides = scratch_overrides()
    cfg = config(overrides)
    seed_rspamd_cache(cfg)
    manager.up(cfg)
    cfg = config(overrides)
    try:
        addresses = populate(cfg, sessions)
        with app_process(overrides, threads) as (base, pid):
            rec, seen, seconds = drive(cfg, base, pid, addresses, minutes * 60, smtp_clients, think)
        report(rec, seen, seconds)
    finally:
        manager.down(cfg)


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--smtp-clients", type=int, default=4)
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between steps, seconds")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    run(args.sessions, args.minutes, args.smtp_clients, args.think, args.threads)


if __name__ == "__main__":
    main()
