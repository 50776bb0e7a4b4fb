"""Antivirus: what ClamAV adds to each message, and what its daemon costs (issue 14 item 2).

Starts its own stack on free ports. Sends messages of about 10 MB (a base64 attachment of
random bytes, new for every send, so no cached verdict is reused) to a mailbox over port
25 and times each from MAIL FROM until Postfix's 250 after DATA, which is when Rspamd,
and with antivirus on clamd, has seen the whole message: ROUNDS sends with antivirus
on, ROUNDS with it off, alternating blocks. Then stops clamd and times starting it again
until it answers PING, and reads its resident memory, with the stack's one signature.
Prints figures and medians; never pass/fail.

Run: python -m bench.antivirus [--rounds 7] [--mb 10]
"""
from __future__ import annotations

import argparse
import os
import smtplib
import statistics
import time
from email.message import EmailMessage

from core.mail import clamd
from core.services.directory import lookup
from core.services.server import settings
from stack import start_daemon, stop_daemon
from stack.daemons import running
from stack.layout import Layout

from .common import database, scratch_stack, summary

RCPT = "scanned@bench.test"
PASSWORD = "benchmark-password-1"
MB = 1024 * 1024


def big_message(size_mb: float) -> bytes:
    """A message with SIZE_MB of random attachment (base64 grows it by a third)."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "sender@outside.example", RCPT, "Large attachment"
    msg.set_content("The scans are attached.\n")
    msg.add_attachment(os.urandom(int(size_mb * MB * 3 / 4)), maintype="application",
                       subtype="octet-stream", filename="scans.bin")
    return bytes(msg)


def timed_send(cfg: dict, raw: bytes) -> float:
    """Seconds from MAIL FROM to the 250 after DATA."""
    with smtplib.SMTP(cfg["LISTEN_ADDRESS"], cfg["SMTP_PORT"], local_hostname="bench.client",
                      timeout=120) as conn:
        conn.ehlo()
        began = time.perf_counter()
        conn.sendmail("sender@outside.example", [RCPT], raw)
        return time.perf_counter() - began


def set_antivirus(cfg: dict, on: bool) -> None:
    with database(cfg).transaction() as session:
        settings.update(session, cfg, {"antivirus": "on" if on else "off"}, "bench")


def rss_mib(pid: int) -> float:
    """Resident memory of PID in MiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        kb = next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
    return kb / 1024


def clamd_start(cfg: dict) -> float:
    """Seconds from starting clamd until it answers PING."""
    stop_daemon(cfg, "clamd")
    began = time.perf_counter()
    start_daemon(cfg, "clamd")
    target = clamd.ClamdSettings.from_config(cfg)
    while True:
        try:
            clamd.ping(target)
            return time.perf_counter() - began
        except clamd.ServiceUnavailable:
            time.sleep(0.01)


def main(rounds: int, size_mb: float) -> None:
    with scratch_stack() as cfg:
        with database(cfg).transaction() as session:
            lookup.add_domain(session, RCPT.partition("@")[2])
            lookup.add_mailbox(session, RCPT, PASSWORD)
        raw_size = len(big_message(size_mb))
        timed_send(cfg, big_message(size_mb))  # warm-up: first connection, caches
        samples: dict[bool, list[float]] = {True: [], False: []}
        for block in range(2):
            for on in (True, False):
                set_antivirus(cfg, on)
                for _ in range((rounds + 1) // 2 if block == 0 else rounds // 2):
                    samples[on].append(timed_send(cfg, big_message(size_mb)))
                    print(f"  antivirus {'on ' if on else 'off'}: {samples[on][-1]:.3f} s")
        set_antivirus(cfg, True)
        starts = [clamd_start(cfg) for _ in range(5)]
        pid = running(Layout.from_config(cfg), "clamd").pid
        print(f"\n{raw_size / MB:.1f} MB message over port 25, MAIL FROM → 250 after DATA:")
        print(f"  antivirus on    {summary(samples[True])}")
        print(f"  antivirus off   {summary(samples[False])}")
        extra = statistics.median(samples[True]) - statistics.median(samples[False])
        print(f"  ClamAV adds     {extra * 1000:.0f} ms per message (difference of the medians)")
        print(f"clamd with the one shipped signature: start → PONG {summary(starts)}, "
              f"RSS {rss_mib(pid):.1f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--mb", type=float, default=10.0)
    arguments = parser.parse_args()
    main(arguments.rounds, arguments.mb)
