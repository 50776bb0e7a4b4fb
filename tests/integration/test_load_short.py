"""A short load run (issue 16): ten people on one waitress for 30 s while mail arrives.

The long run is `python -m bench.load` (30 sessions x 10 minutes, figures in the notes);
this one fails on any error a person or an SMTP client meets, on an IMAP connection
left open at Dovecot once everyone signed out, and on any log line that means mail
flow broke. It never asserts a time.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bench import load
from bench.common import served

SESSIONS = 10
SECONDS = float(os.environ.get("MAILROOM_TEST_LOAD_SECONDS", "30"))


def dovecot_limit(cfg: dict) -> int:
    """IMAP connections Dovecot allows one user from one address."""
    conf = Path(cfg["STACK_DIR"]) / "etc" / "dovecot" / "dovecot.conf"
    return int(subprocess.run(["doveconf", "-c", str(conf), "-h", "mail_max_userip_connections"],
                              capture_output=True, text=True, check=True).stdout)


def test_ten_people_for_thirty_seconds_meet_no_error_and_leave_no_connection(mail_stack):
    from app import create_app

    app = create_app({**mail_stack, "ENV": "testing", "LOGIN_LIMIT_ADDRESS": "1000 per minute",
                      "LOGIN_LIMIT_IP": "10000 per minute"})
    addresses = load.populate(mail_stack, SESSIONS, domain="short-load.test", size=120)
    with served(app) as base:
        rec, seen, _ = load.drive(mail_stack, base, os.getpid(), addresses, SECONDS,
                                  smtp_clients=2, think=0.5)
    done = {route: len(samples) for route, samples in rec.samples.items()}
    assert not any(rec.errors.values()), dict(rec.errors)
    assert done.get("open message", 0) >= SESSIONS and done.get("compose + send", 0) >= 1, done
    assert seen["imap_after"] == 0, seen
    assert 0 < seen["per_user_max"] <= dovecot_limit(mail_stack), seen
    assert not any(seen["log_failures"].values()), seen
