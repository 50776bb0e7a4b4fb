"""Time from submitting the sign-in form to the first page, through HTTP.

Starts its own stack, creates one mailbox, signs in N times with a fresh cookie jar.
Run: python -m bench.signin [N]
"""
from __future__ import annotations

import re
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from core.db import Database
from core.services.directory import lookup
from stack import manager

from .common import config, scratch_overrides, served, summary

PASSWORD = "benchmark-password-1"


def _opener():
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))


def sign_in_once(base: str, address: str) -> tuple[float, float]:
    """One sign-in; returns (seconds for POST+first page, seconds for a second page view)."""
    opener = _opener()
    form = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"address": address, "password": PASSWORD,
                                   "csrf_token": token}).encode()
    start = time.perf_counter()
    page = opener.open(base + "/login", data).read().decode()  # follows the redirect to /
    first = time.perf_counter() - start
    assert 'data-count="messages"' in page, "sign-in failed"
    start = time.perf_counter()
    opener.open(base + "/").read()
    return first, time.perf_counter() - start


def main(rounds: int = 20) -> None:
    """Print median sign-in-to-first-page and repeat-page times."""
    overrides = scratch_overrides()
    cfg = config(overrides)
    manager.up(cfg)
    cfg = config(overrides)
    try:
        db = Database()
        db.configure(cfg["DATABASE_URL"])
        with db.transaction() as session:
            lookup.add_domain(session, "bench.test")
            lookup.add_mailbox(session, "bench@bench.test", PASSWORD)
        from app import create_app

        app = create_app({**cfg, "LOGIN_LIMIT_ADDRESS": "1000 per minute"})
        with served(app) as base:
            times = [sign_in_once(base, "bench@bench.test") for _ in range(rounds)]
        print("sign-in POST -> first page  ", summary([t[0] for t in times]))
        print("next page (reused IMAP)     ", summary([t[1] for t in times]))
    finally:
        manager.down(cfg)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
