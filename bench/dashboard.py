"""The admin dashboard with many mailboxes: milliseconds per page (issue 14 item 8).

Starts its own stack, adds MAILBOXES mailboxes on one domain (one message each, through
Postfix, so each has mail and a quota to show), signs in a server admin and loads
/admin/ ROUNDS times. The first load is printed on its own: with quota_clone it is the
one that has the privileged helper measure every mailbox Dovecot has not copied yet;
the median of the others is the figure to compare. Runs unchanged against an older
checkout (per-mailbox doveadm calls) for the "before". Never pass/fail.

Run: python -m bench.dashboard [--mailboxes 1000] [--rounds 15]
"""
from __future__ import annotations

import argparse
import smtplib
import time

from core import passwords
from core.models import Mailbox
from core.services.access import roles
from core.services.directory import lookup

from .common import database, scratch_stack, served, sign_in, summary

DOMAIN = "bench.test"
ADMIN = f"admin@{DOMAIN}"
PASSWORD = "benchmark-password-1"


def add_mailboxes(cfg: dict, count: int) -> list[str]:
    """COUNT mailboxes sharing one password hash (bcrypt per mailbox would take minutes)."""
    shared_hash = passwords.hash_password(PASSWORD, rounds=4)
    addresses = [f"user{n:04}@{DOMAIN}" for n in range(count)]
    with database(cfg).transaction() as session:
        domain = lookup.get_domain(session, DOMAIN)
        for address in addresses:
            session.add(Mailbox(domain_id=domain.id, local_part=address.partition("@")[0],
                                address=address, password_hash=shared_hash))
    return addresses


def deliver(cfg: dict, addresses: list[str]) -> None:
    """One small message to each address over port 25 (100 recipients per message)."""
    with smtplib.SMTP(cfg["LISTEN_ADDRESS"], cfg["SMTP_PORT"], local_hostname="bench.client",
                      timeout=60) as conn:
        for start in range(0, len(addresses), 100):
            batch = addresses[start:start + 100]
            conn.sendmail("someone@outside.test", batch,
                          b"From: someone@outside.test\r\nSubject: hello\r\n\r\n" + b"x" * 2000 + b"\r\n")


def main(count: int, rounds: int) -> None:
    with scratch_stack() as cfg:
        with database(cfg).transaction() as session:
            lookup.add_domain(session, DOMAIN)
            lookup.add_mailbox(session, ADMIN, PASSWORD)
            roles.grant_server_admin(session, ADMIN)
        addresses = add_mailboxes(cfg, count)
        deliver(cfg, addresses)
        time.sleep(15)  # let the deliveries finish (LMTP)
        from app import create_app

        with served(create_app(cfg)) as base:
            opener = sign_in(base, ADMIN, PASSWORD)
            samples = []
            for _ in range(rounds + 1):
                began = time.perf_counter()
                page = opener.open(base + "/admin/").read().decode()
                samples.append(time.perf_counter() - began)
                if addresses[-1] not in page:
                    raise RuntimeError("the dashboard does not list every mailbox")
            measured = page.count("not measured yet")
            print(f"\nadmin dashboard, {count + 1} mailboxes:")
            print(f"  first load              {samples[0] * 1000:.0f} ms")
            print(f"  next {rounds} loads          {summary(samples[1:])}")
            print(f"  rows not measured yet   {measured}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    main(args.mailboxes, args.rounds)
