"""Admin → Server: how long a saved setting takes to be obeyed (issue 13).

Starts its own stack on free ports and signs in a server admin. Each round saves a new
maximum message size through the page (the form a person submits), then asks Postfix's
port 25 in a loop until EHLO advertises the new SIZE. Prints, per round and as medians:
the save (render, `postfix check`, reload: the request's own time) and save → obeyed
(until a new SMTP session sees the value). Never pass/fail.

Run: python -m bench.server_settings [--rounds 10]
"""
from __future__ import annotations

import argparse
import re
import smtplib
import time
import urllib.parse

from core.services.access import roles
from core.services.directory import lookup

from .common import database, scratch_stack, served, sign_in, summary

ADMIN = "admin@bench.test"
PASSWORD = "benchmark-password-1"
MB = 1024 * 1024


def advertised_size(cfg: dict) -> int:
    """The SIZE a new SMTP session on port 25 is offered."""
    with smtplib.SMTP(cfg["LISTEN_ADDRESS"], cfg["SMTP_PORT"], local_hostname="bench.client",
                      timeout=10) as conn:
        conn.ehlo()
        return int(conn.esmtp_features.get("size", "0"))


def main(rounds: int) -> None:
    """Save ROUNDS sizes in turn and print the figures."""
    with scratch_stack() as cfg:
        with database(cfg).transaction() as session:
            lookup.add_domain(session, ADMIN.partition("@")[2])
            lookup.add_mailbox(session, ADMIN, PASSWORD)
            roles.grant_server_admin(session, ADMIN)
        from app import create_app

        with served(create_app(cfg)) as base:
            opener = sign_in(base, ADMIN, PASSWORD)
            saves, obeyed = [], []
            for n in range(rounds):
                size = 20 + n % 2  # alternate, so every save changes something
                page = opener.open(base + "/admin/server").read().decode()
                token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
                form = urllib.parse.urlencode({"csrf_token": token, "message_size_mb": size,
                                               "queue_lifetime_days": 4}).encode()
                began = time.perf_counter()
                answer = opener.open(base + "/admin/server/messages", form).read().decode()
                saves.append(time.perf_counter() - began)
                if "Postfix reloaded" not in answer:
                    raise RuntimeError("the save did not report a reload")
                while advertised_size(cfg) != size * MB:
                    time.sleep(0.02)
                obeyed.append(time.perf_counter() - began)
                print(f"  round {n + 1:2}: {size} MB saved in {saves[-1]:.2f} s, "
                      f"obeyed after {obeyed[-1]:.2f} s")
            print(f"\nmaximum message size, {rounds} saves:")
            print(f"  save (check + reload)   {summary(saves)}")
            print(f"  save → EHLO obeys it    {summary(obeyed)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    main(parser.parse_args().rounds)
