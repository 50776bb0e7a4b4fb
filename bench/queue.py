"""Admin → Server → Queue with many deferred messages (issue 13 item 2).

Starts its own stack on free ports, adds a relay domain whose relay host is a closed
loopback port, sends it COUNT messages over SMTP (four connections) and waits until
Postfix has deferred them all. Then times, with a signed-in server admin: `postqueue
-j` alone (as root), the privileged helper's `queue_list` (one page), the queue page
(first page, a later page, filtered down to one message), the dashboard with its
deferred count, and one message's headers page. Prints medians; never pass/fail.

Run: python -m bench.queue [--count 1000] [--rounds 15]
"""
from __future__ import annotations

import argparse
import json
import smtplib
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

from core.services.access import roles
from core.services.directory import domains, lookup
from core.services.server import mailstore

from .common import database, free_ports, scratch_stack, served, sign_in, summary

ADMIN = "admin@bench.test"
PASSWORD = "benchmark-password-1"
FAR = "down.bench"
CONNECTIONS = 4


def _directory(cfg: dict) -> None:
    """A server admin, and a relay domain whose relay host nothing listens on."""
    with database(cfg).transaction() as session:
        lookup.add_domain(session, ADMIN.partition("@")[2])
        lookup.add_mailbox(session, ADMIN, PASSWORD)
        roles.grant_server_admin(session, ADMIN)
        far = domains.create_domain(session, "bench", FAR)
        domains.update_domain(session, "bench", far, mode="relay", relay=f"127.0.0.1:{free_ports(1)[0]}")


def _send(cfg: dict, numbers: range) -> None:
    with smtplib.SMTP(cfg["LISTEN_ADDRESS"], cfg["SMTP_PORT"], local_hostname="bench.client",
                      timeout=60) as conn:
        for n in numbers:
            message = EmailMessage()
            message["From"], message["To"] = f"sender{n}@outside.example", f"rcpt{n}@{FAR}"
            message["Subject"] = f"Queued message {n}"
            message.set_content(f"Message {n} waits for a relay host that is down.\n" * 20)
            conn.send_message(message)


def _postqueue(cfg: dict) -> list[dict]:
    etc = f"{cfg['STACK_DIR']}/etc/postfix"
    out = subprocess.run(["postqueue", "-c", etc, "-j"], capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line]


def fill(cfg: dict, count: int) -> float:
    """Send COUNT messages to the relay-down domain; the seconds until all are deferred."""
    began = time.perf_counter()
    share = -(-count // CONNECTIONS)
    with ThreadPoolExecutor(CONNECTIONS) as pool:
        list(pool.map(lambda i: _send(cfg, range(i * share, min(count, (i + 1) * share))),
                      range(CONNECTIONS)))
    deadline = time.monotonic() + 600
    while sum(e["queue_name"] == "deferred" for e in _postqueue(cfg)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("Postfix did not defer every message within 10 minutes")
        time.sleep(0.5)
    return time.perf_counter() - began


def timed(work, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        began = time.perf_counter()
        work()
        samples.append(time.perf_counter() - began)
    return samples


def main(count: int, rounds: int) -> None:
    """Fill, then print the figures."""
    with scratch_stack() as cfg:
        _directory(cfg)
        print(f"filled {count} deferred messages in {fill(cfg, count):.1f} s (SMTP, {CONNECTIONS} connections)")
        some_id = _postqueue(cfg)[0]["queue_id"]
        from app import create_app

        app = create_app({**cfg, "LOGIN_LIMIT_ADDRESS": "1000 per minute"})
        with served(app) as base:
            opener = sign_in(base, ADMIN, PASSWORD)

            def get(path: str) -> str:
                return opener.open(base + path).read().decode()

            assert f"{count} message(s)" in get("/admin/server/queue")
            rows = [
                ("postqueue -j alone (root)", lambda: _postqueue(cfg)),
                ("helper queue_list, one page", lambda: mailstore.call(cfg, "queue_list", limit=50)),
                ("queue page 1 (50 rows)", lambda: get("/admin/server/queue")),
                ("queue page 10", lambda: get("/admin/server/queue?page=10")),
                ("queue filtered to one recipient", lambda: get(f"/admin/server/queue?recipient=rcpt7@{FAR}")),
                ("one message's headers", lambda: get(f"/admin/server/queue/message/{some_id}")),
                ("dashboard (deferred count)", lambda: get("/admin/")),
            ]
            print(f"\n{count} deferred messages, {rounds} rounds each:")
            for label, work in rows:
                print(f"  {label:<34} {summary(timed(work, rounds))}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    arguments = parser.parse_args()
    main(arguments.count, arguments.rounds)
