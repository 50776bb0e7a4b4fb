"""A large directory on SQLite and on PostgreSQL (issue 18 item 5).

For each database, starts its own stack on free ports (with MAILROOM_DATABASE=postgresql
the stack runs its own PostgreSQL), bulk-inserts DOMAINS domains, MAILBOXES mailboxes and
ALIASES aliases (each to a mailbox of its domain; one password hash for all), then times:

- Postfix lookups per recipient: `postmap -q -` reading many keys in one process (the
  map's own query, no process start per key) on the mailbox and alias maps, and RCPT TO
  on one SMTP session (every map smtpd asks for a recipient);
- Dovecot authentication per login: IMAP LOGIN on a new connection (passdb, the password
  hash check and userdb), and `doveadm user` (the userdb query, plus a process start);
- the admin list pages as a server admin, in-process (no HTTP): domains, mailboxes and
  aliases, first and later pages and filtered, and the dashboard;
- messages per second Postfix accepts on port 25 with Rspamd scanning (its milter),
  CONNECTIONS clients sending to random mailboxes.

Prints medians and the PostgreSQL/SQLite ratios; never pass/fail.

Run: python -m bench.scale [--scale 1.0] [--databases sqlite,postgresql] [--messages 400]
"""
from __future__ import annotations

import argparse
import imaplib
import random
import smtplib
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import insert, select

from core import passwords
from core.models import TO_MAILBOX, Alias, AliasDestination, Credential, Domain, Mailbox
from core.services.access import roles
from stack import pgsql

from .common import app_client, database, scratch_stack

ADMIN = "admin@admin.bench"
PASSWORD = "benchmark-password-1"
CHUNK = 5000
CONNECTIONS = 4
SAMPLES = 200


def domain_name(n: int) -> str:
    return f"d{n:05d}.bench"


def fill(cfg: dict, domains: int, mailboxes: int, aliases: int) -> float:
    """Bulk-insert the directory (mailboxes and aliases spread evenly over the domains);
    the seconds it took."""
    began = time.perf_counter()
    hashed = passwords.hash_password(PASSWORD)
    per_domain = max(1, mailboxes // domains)
    with database(cfg).transaction() as session:
        session.execute(insert(Domain), [{"name": domain_name(n)} for n in range(domains)])
        ids = dict(session.execute(select(Domain.name, Domain.id)).all())
        rows = [{"domain_id": ids[domain_name(n % domains)], "local_part": f"u{n // domains}",
                 "address": f"u{n // domains}@{domain_name(n % domains)}"} for n in range(mailboxes)]
        for start in range(0, len(rows), CHUNK):
            session.execute(insert(Mailbox), rows[start:start + CHUNK])
            session.execute(insert(Credential), [{"address": r["address"], "password_hash": hashed}
                                                 for r in rows[start:start + CHUNK]])
        boxes = dict(session.execute(select(Mailbox.address, Mailbox.id)).all())
        for start in range(0, aliases, CHUNK):
            numbers = range(start, min(aliases, start + CHUNK))
            made = session.execute(insert(Alias).returning(Alias.id), [
                {"local_part": f"a{n // domains}", "domain_id": ids[domain_name(n % domains)]}
                for n in numbers]).scalars().all()
            session.execute(insert(AliasDestination), [
                {"alias_id": alias_id, "kind": TO_MAILBOX,
                 "mailbox_id": boxes[f"u{(n // domains) % per_domain}@{domain_name(n % domains)}"]}
                for alias_id, n in zip(made, numbers)])
    with database(cfg).engine.connect() as connection:
        # As after any bulk load (and `db migrate-to`): the planner's statistics now, not
        # when PostgreSQL's autovacuum next looks (SQLite plans well without them).
        if pgsql.is_postgresql(cfg):
            connection.exec_driver_sql("ANALYZE")
    with database(cfg).transaction() as session:
        from core.services.directory import lookup

        lookup.add_domain(session, ADMIN.partition("@")[2])
        lookup.add_mailbox(session, ADMIN, PASSWORD)
        roles.grant_server_admin(session, ADMIN)
    return time.perf_counter() - began


def sample(prefix: str, domains: int, count: int, per_domain: int) -> list[str]:
    """COUNT random addresses PREFIX<i>@<domain> of the directory."""
    rng = random.Random(7)
    return [f"{prefix}{rng.randrange(per_domain)}@{domain_name(rng.randrange(domains))}"
            for _ in range(count)]


def postmap_each(cfg: dict, table: str, keys: list[str]) -> float:
    """Seconds per key of Postfix's own client answering KEYS from TABLE in one process."""
    etc = Path(cfg["STACK_DIR"]) / "etc" / "postfix"
    kind = "pgsql" if pgsql.is_postgresql(cfg) else "sqlite"
    began = time.perf_counter()
    done = subprocess.run(["postmap", "-c", str(etc), "-q", "-", f"{kind}:{etc / 'maps' / table}.cf"],
                          input="\n".join(keys) + "\n", capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - began
    if len(done.stdout.splitlines()) != len(keys):
        raise RuntimeError(f"{table}: {len(done.stdout.splitlines())} of {len(keys)} keys found")
    return seconds / len(keys)


def rcpt_times(cfg: dict, recipients: list[str]) -> list[float]:
    """Each RCPT TO's seconds on one SMTP session to port 25 (RSET every 100)."""
    times = []
    with smtplib.SMTP(cfg["LISTEN_ADDRESS"], cfg["SMTP_PORT"], local_hostname="bench.client",
                      timeout=60) as smtp:
        for n, address in enumerate(recipients):
            if n % 100 == 0:
                smtp.rset()
                smtp.mail("sender@outside.example")
            began = time.perf_counter()
            code, _ = smtp.rcpt(address)
            times.append(time.perf_counter() - began)
            if code != 250:
                raise RuntimeError(f"RCPT TO {address}: {code}")
    return times


def login_times(cfg: dict, addresses: list[str]) -> list[float]:
    """Seconds of IMAP LOGIN (new connection each) for ADDRESSES."""
    times = []
    for address in addresses:
        conn = imaplib.IMAP4(cfg["LISTEN_ADDRESS"], cfg["IMAP_PORT"], timeout=30)
        began = time.perf_counter()
        conn.login(address, PASSWORD)
        times.append(time.perf_counter() - began)
        conn.logout()
    return times


def userdb_times(cfg: dict, addresses: list[str]) -> list[float]:
    """Seconds of `doveadm user` (the userdb query and a process start) for ADDRESSES."""
    conf = Path(cfg["STACK_DIR"]) / "etc" / "dovecot" / "dovecot.conf"
    times = []
    for address in addresses:
        began = time.perf_counter()
        subprocess.run(["doveadm", "-c", str(conf), "user", address], capture_output=True, check=True)
        times.append(time.perf_counter() - began)
    return times


def page_times(cfg: dict, domains: int, rounds: int) -> list[tuple[str, list[float]]]:
    """Each admin page's seconds (ROUNDS each, after one warm-up), in-process."""
    from app import create_app

    client = app_client(create_app({**cfg, "LOGIN_LIMIT_ADDRESS": "1000 per minute"}), ADMIN, PASSWORD)
    middle = domain_name(domains // 2)
    pages = [("domains, page 1", "/admin/domains"),
             ("domains, page 100", "/admin/domains?page=100"),
             ("mailboxes, page 1", "/admin/mailboxes"),
             ("mailboxes, page 1000", "/admin/mailboxes?page=1000"),
             ("mailboxes of one domain", f"/admin/mailboxes?domain={middle}"),
             ("mailboxes, search 'u7@d0001'", "/admin/mailboxes?q=u7@d0001"),
             ("aliases, page 1", "/admin/aliases"),
             ("aliases, page 1000", "/admin/aliases?page=1000"),
             ("aliases of one domain", f"/admin/aliases?domain={middle}"),
             ("dashboard (quota by address)", "/admin/"),
             ("dashboard by use (reads all)", "/admin/?sort=used&order=desc"),
             ("dashboard of one domain", f"/admin/?domain={middle}")]
    found = []
    for label, url in pages:
        times = []
        for _ in range(rounds + 1):
            began = time.perf_counter()
            answer = client.get(url)
            times.append(time.perf_counter() - began)
            if answer.status_code != 200:
                raise RuntimeError(f"{url}: {answer.status_code}")
        found.append((label, times[1:]))
    return found


def throughput(cfg: dict, recipients: list[str]) -> float:
    """Messages per second port 25 accepts (250 after DATA) from CONNECTIONS clients."""
    share = -(-len(recipients) // CONNECTIONS)

    def send(part: list[str]) -> None:
        with smtplib.SMTP(cfg["LISTEN_ADDRESS"], cfg["SMTP_PORT"], local_hostname="bench.client",
                          timeout=120) as smtp:
            for n, address in enumerate(part):
                message = EmailMessage()
                message["From"], message["To"] = "sender@outside.example", address
                message["Subject"] = f"Scale message {n}"
                message.set_content(f"Message {n} for {address}, scanned by Rspamd on its way.\n" * 30)
                smtp.send_message(message)

    began = time.perf_counter()
    with ThreadPoolExecutor(CONNECTIONS) as pool:
        list(pool.map(send, [recipients[i:i + share] for i in range(0, len(recipients), share)]))
    return len(recipients) / (time.perf_counter() - began)


def ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def measure(db: str, counts: tuple[int, int, int], messages: int, rounds: int) -> dict[str, float]:
    """Every figure on a fresh stack whose directory is on DB; printed as it goes."""
    domains, mailboxes, aliases = counts
    per_domain = max(1, mailboxes // domains)
    figures: dict[str, float] = {}

    def note(label: str, value: float, unit: str = "ms") -> None:
        figures[label] = value
        print(f"  {label:<44} {value:9.2f} {unit}", flush=True)

    print(f"\n{db}:")
    with scratch_stack(db) as cfg:
        note("bulk insert of the directory", fill(cfg, *counts), "s")
        mailbox_keys = sample("u", domains, SAMPLES * 5, per_domain)
        alias_keys = sample("a", domains, SAMPLES * 5, max(1, aliases // domains))
        note("postmap, mailbox map, per key", postmap_each(cfg, "virtual_mailbox_maps", mailbox_keys) * 1000)
        note("postmap, alias map, per key", postmap_each(cfg, "aliases", alias_keys) * 1000)
        note("SMTP RCPT TO (mailbox), median", ms(rcpt_times(cfg, mailbox_keys[:SAMPLES])))
        note("SMTP RCPT TO (alias), median", ms(rcpt_times(cfg, alias_keys[:SAMPLES])))
        note("IMAP LOGIN, new connection, median", ms(login_times(cfg, mailbox_keys[:SAMPLES // 4])))
        note("doveadm user (userdb + process), median", ms(userdb_times(cfg, mailbox_keys[:SAMPLES // 4])))
        for label, times in page_times(cfg, domains, rounds):
            note(f"admin {label}, median", ms(times))
        note("port 25 with Rspamd, messages/s", throughput(cfg, mailbox_keys[:messages]), "msg/s")
    return figures


def main(scale: float, databases: list[str], messages: int, rounds: int) -> None:
    """Fill and measure each database, then print the ratios."""
    counts = (max(1, int(10_000 * scale)), max(1, int(100_000 * scale)), max(1, int(100_000 * scale)))
    print(f"{counts[0]:,} domains, {counts[1]:,} mailboxes, {counts[2]:,} aliases; "
          f"{rounds} rounds per page, {messages} messages")
    results = {db: measure(db, counts, messages, rounds) for db in databases}
    if len(results) == 2:
        first, second = (results[db] for db in databases)
        print(f"\n{databases[1]} / {databases[0]}:")
        for label, value in first.items():
            print(f"  {label:<44} {second[label] / value:6.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 10k/100k/100k")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    main(arguments.scale, arguments.databases.split(","), arguments.messages, arguments.rounds)
