"""The real local mail stack: Dovecot, Postfix, Rspamd and Redis reading the app's database.

Each test changes the database the way the app would (plain SQL here) and checks the
effect through the daemons' own protocols. Logins that must fail come last and from
their own loopback addresses: Dovecot slows later logins from an IP that failed.
"""
from __future__ import annotations

import imaplib
import json
import poplib
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import warnings
from base64 import b64encode
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

import bcrypt
import pytest
from flask import Flask
from imapclient import IMAPClient
from limits import parse
from sievelib.managesieve import Client as SieveClient

from sqlalchemy import text

from core.config import load_config
from core.db import make_engine
from stack import StackError, pgsql, start_daemon, status, stop_daemon, up
from stack.cli import stack_cli
from stack.daemons import running
from stack.layout import DAEMONS, Layout

pytestmark = pytest.mark.directory  # run again on PostgreSQL (stack/test.sh)

DOMAIN = "example.test"
PASSWORD = "correct horse battery"
# Addresses that are not loopback-trusted nor in mynetworks; failed logins get their own
# (Dovecot's auth penalty is per client IP).
OUTSIDE, OUTSIDE_IMAP_FAIL, OUTSIDE_SMTP_FAIL = "127.0.0.9", "127.0.0.10", "127.0.0.11"
SPECIAL = {"Drafts": b"\\Drafts", "Sent": b"\\Sent", "Trash": b"\\Trash",
           "Junk": b"\\Junk", "Archive": b"\\Archive"}


# --- helpers -------------------------------------------------------------------------

@contextmanager
def db(cfg):
    """One transaction on the stack's database (SQLite with its private database attached,
    or PostgreSQL), committed after the block."""
    engine = make_engine(cfg["DATABASE_URL"])
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def run(conn, sql: str, **values):
    """SQL with :named VALUES, as the app would write it on either database."""
    return conn.execute(text(sql), values)


def domain_id(cfg, name=DOMAIN, **columns) -> int:
    """The id of domain NAME, inserted (with COLUMNS) if missing."""
    with db(cfg) as conn:
        found = run(conn, "SELECT id FROM domains WHERE name = :name", name=name).scalar()
        if found:
            return found
        cols = {"name": name, "mode": "deliver", **columns}
        return run(conn, f"INSERT INTO domains ({', '.join(cols)}) VALUES"
                         f" ({', '.join(':' + c for c in cols)}) RETURNING id", **cols).scalar()


def add_mailbox(cfg, local_part, enabled=True, quota_mb=None, domain=DOMAIN) -> str:
    """Insert a mailbox row as the app would; return its address."""
    address = f"{local_part}@{domain}"
    hashed = "{BLF-CRYPT}" + bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()
    with db(cfg) as conn:
        run(conn, "INSERT INTO mailboxes (domain_id, local_part, address, enabled, quota_mb)"
                  " VALUES (:domain, :local, :address, :enabled, :quota)",
            domain=domain_id(cfg, domain), local=local_part, address=address, enabled=enabled,
            quota=quota_mb)
        run(conn, "INSERT INTO private.credentials (address, password_hash) VALUES (:address, :hash)",
            address=address, hash=hashed)
    return address


def add_alias(cfg, local_part, destinations, domain=DOMAIN, local_only=False) -> None:
    """Insert an alias (domain None: every domain) with external-address destinations."""
    dom = domain_id(cfg, domain) if domain else None
    with db(cfg) as conn:
        alias = run(conn, "INSERT INTO aliases (local_part, domain_id, local_only)"
                          " VALUES (:local, :domain, :local_only) RETURNING id",
                    local=local_part, domain=dom, local_only=local_only).scalar()
        for address in destinations:
            run(conn, "INSERT INTO alias_destinations (alias_id, kind, address)"
                      " VALUES (:alias, 'external', :address)", alias=alias, address=address)


def tls_context(cfg) -> ssl.SSLContext:
    """A client context that trusts only the stack's self-signed certificate."""
    ctx = ssl.create_default_context(cafile=cfg["TLS_CA_FILE"])
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    return ctx


def message(sender, recipient, token) -> EmailMessage:
    """A small message whose subject carries TOKEN."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, recipient, f"test {token}"
    msg.set_content(f"Hello, this is message {token}.\n")
    return msg


def send_inbound(cfg, recipient, token, source="127.0.0.1") -> None:
    """Deliver a message through the inbound SMTP port, as another server would."""
    with smtplib.SMTP(cfg["LISTEN_ADDRESS"], cfg["SMTP_PORT"], local_hostname="localhost",
                      timeout=15, source_address=(source, 0)) as smtp:
        smtp.send_message(message("someone@sender.test", recipient, token))


def maildir_has(cfg, address, token, timeout=15.0) -> bool:
    """Wait until a message containing TOKEN is in ADDRESS's INBOX Maildir."""
    local, domain = address.split("@")
    inbox = Path(cfg["STACK_DIR"]) / "mail" / domain / local / "Maildir"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in list(inbox.glob("new/*")) + list(inbox.glob("cur/*")):
            try:
                if token in path.read_text(errors="replace"):
                    return True
            except FileNotFoundError:  # moved from new/ to cur/ meanwhile
                continue
        time.sleep(0.1)
    return False


def rspamd_stat(cfg) -> dict:
    """The Rspamd controller's /stat document (with the generated password)."""
    url = f"http://{cfg['LISTEN_ADDRESS']}:{cfg['RSPAMD_CONTROLLER_PORT']}/stat"
    request = urllib.request.Request(url, headers={"Password": cfg["RSPAMD_PASSWORD"]})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def postmap(cfg, table, key) -> str | None:
    """What Postfix's own sqlite or pgsql client answers for KEY in one of our lookup tables."""
    etc = Path(cfg["STACK_DIR"]) / "etc" / "postfix"
    kind = "pgsql" if pgsql.is_postgresql(cfg) else "sqlite"
    result = subprocess.run(
        ["postmap", "-c", str(etc), "-q", key, f"{kind}:{etc / 'maps' / table}.cf"],
        capture_output=True, text=True, check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def imap(cfg, address) -> IMAPClient:
    """A logged-in IMAP client (plaintext on loopback, which Dovecot treats as secured)."""
    client = IMAPClient(cfg["LISTEN_ADDRESS"], port=cfg["IMAP_PORT"], ssl=False, timeout=10)
    client.login(address, PASSWORD)
    return client


class FromAddress:
    """An imaplib or poplib client that connects from another loopback address (which
    Dovecot does not treat as secured)."""

    def __init__(self, host, port, source, timeout=10):
        self._source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self._source, 0))


class OutsideIMAP(FromAddress, imaplib.IMAP4):
    """imaplib from another loopback address."""


class OutsidePOP3(FromAddress, poplib.POP3):
    """poplib from another loopback address."""


# --- tests ---------------------------------------------------------------------------

def test_every_service_answers(mail_stack):
    services = {s.name: s for s in status(mail_stack)}
    own_database = {"postgresql"} if pgsql.is_postgresql(mail_stack) else set()
    assert set(services) == {"imap", "imaps", "pop3", "pop3s", "managesieve", "smtp", "submission",
                             "submissions", "rspamd", "redis", "disclaimer", "clamd", "carddav", "learnd",
                             "worker", *own_database}
    assert all(s.answers and s.pid for s in services.values()), services
    assert services["imap"].port == mail_stack["IMAP_PORT"]
    assert services["worker"].port is None and services["learnd"].host == ""


def test_new_mailbox_logs_in_with_quota_and_special_folders(mail_stack):
    address = add_mailbox(mail_stack, "alice", quota_mb=50)
    with imap(mail_stack, address) as client:
        _roots, quotas = client.get_quota_root("INBOX")
        client.create_folder("Projects/v1.2")  # "." in a name, "/" as the separator
        folders = {name: flags for flags, _sep, name in client.list_folders()}
        subscribed = {name for _f, _s, name in client.list_sub_folders()}
    assert "Projects/v1.2" in folders
    assert quotas and quotas[0].resource == "STORAGE" and quotas[0].limit == 50 * 1024
    for name, flag in SPECIAL.items():
        assert flag in folders[name], folders
        assert name in subscribed


def test_default_quota_applies_without_override(mail_stack):
    address = add_mailbox(mail_stack, "dora")
    with imap(mail_stack, address) as client:
        _roots, quotas = client.get_quota_root("INBOX")
    assert quotas[0].limit == mail_stack["DEFAULT_QUOTA_MB"] * 1024


def test_folder_shared_by_acl_appears_in_the_shared_namespace(mail_stack):
    owner, reader = add_mailbox(mail_stack, "fay"), add_mailbox(mail_stack, "gus")
    with imap(mail_stack, owner) as client:
        client.create_folder("Team.2024")
        client.append("Team.2024", b"Subject: shared\r\n\r\nhello\r\n")
        client.setacl("Team.2024", reader, "lr")
    with imap(mail_stack, reader) as client:
        shared = f"shared/{owner}/Team.2024"
        assert shared in {name for _f, _s, name in client.list_folders("shared/")}
        assert client.select_folder(shared, readonly=True)[b"EXISTS"] == 1


def test_submission_delivers_to_another_mailbox_through_rspamd(mail_stack):
    sender = "alice@example.test"
    recipient = add_mailbox(mail_stack, "bob")
    token = uuid.uuid4().hex
    scanned = rspamd_stat(mail_stack)["scanned"]
    with smtplib.SMTP(mail_stack["LISTEN_ADDRESS"], mail_stack["SUBMISSION_PORT"],
                      local_hostname="localhost", timeout=15) as smtp:
        smtp.starttls(context=tls_context(mail_stack))
        smtp.login(sender, PASSWORD)
        smtp.send_message(message(sender, recipient, token))
    assert maildir_has(mail_stack, recipient, token)
    with imap(mail_stack, recipient) as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["SUBJECT", token])
    assert rspamd_stat(mail_stack)["scanned"] > scanned  # the milter really scanned it


def test_submission_refuses_mail_without_login(mail_stack):
    with smtplib.SMTP(mail_stack["LISTEN_ADDRESS"], mail_stack["SUBMISSION_PORT"],
                      local_hostname="localhost", timeout=15) as smtp:
        smtp.starttls(context=tls_context(mail_stack))
        smtp.mail("alice@example.test")
        code, _ = smtp.rcpt("bob@example.test")
    assert code >= 500


def test_alias_inserted_while_running_delivers_next_message(mail_stack):
    add_alias(mail_stack, "team", ["bob@example.test", "alice@example.test"])
    token = uuid.uuid4().hex
    send_inbound(mail_stack, "team@example.test", token)
    assert maildir_has(mail_stack, "bob@example.test", token)
    assert maildir_has(mail_stack, "alice@example.test", token)


def test_catchall_global_alias_and_local_only(mail_stack):
    other = f"catchall-{uuid.uuid4().hex[:8]}.test"  # a domain no other test has touched
    domain_id(mail_stack, other, catchall_address="bob@example.test")
    add_mailbox(mail_stack, "erin", domain=other)
    add_alias(mail_stack, "postmaster", ["alice@example.test"], domain=None)
    add_alias(mail_stack, "staff", ["alice@example.test"], local_only=True)
    tokens = {key: uuid.uuid4().hex for key in ("real", "catch", "global", "local")}
    send_inbound(mail_stack, f"erin@{other}", tokens["real"])
    send_inbound(mail_stack, f"nobody@{other}", tokens["catch"])
    send_inbound(mail_stack, f"postmaster@{other}", tokens["global"])
    send_inbound(mail_stack, "staff@example.test", tokens["local"])
    assert maildir_has(mail_stack, f"erin@{other}", tokens["real"])
    assert maildir_has(mail_stack, "bob@example.test", tokens["catch"])
    assert not maildir_has(mail_stack, "bob@example.test", tokens["real"], timeout=0.5)
    assert maildir_has(mail_stack, "alice@example.test", tokens["global"])
    assert maildir_has(mail_stack, "alice@example.test", tokens["local"])
    with smtplib.SMTP(mail_stack["LISTEN_ADDRESS"], mail_stack["SMTP_PORT"], local_hostname="localhost",
                      timeout=15, source_address=(OUTSIDE, 0)) as smtp:
        smtp.mail("someone@sender.test")
        assert smtp.rcpt("bob@example.test")[0] == 250  # outside mail is welcome in general
        code, text = smtp.rcpt("staff@example.test")
    assert code == 554 and b"local network only" in text


def test_relay_domain_and_bcc_tables(mail_stack):
    domain_id(mail_stack, "relay.test", mode="relay", relay_host="127.0.0.1", relay_port=2525)
    domain_id(mail_stack, "bcc.test", bcc_address="archive@example.test")
    assert postmap(mail_stack, "relay_domains", "relay.test") == "relay.test"
    assert postmap(mail_stack, "transport", "relay.test") == "smtp:[127.0.0.1]:2525"
    assert postmap(mail_stack, "virtual_mailbox_domains", "relay.test") is None
    assert postmap(mail_stack, "recipient_bcc", "@bcc.test") == "archive@example.test"
    assert postmap(mail_stack, "recipient_bcc", "@example.test") is None


def test_managesieve_answers_with_vacation(mail_stack):
    client = SieveClient(mail_stack["LISTEN_ADDRESS"], mail_stack["SIEVE_PORT"])
    with warnings.catch_warnings():
        # Plaintext on loopback is by design (Dovecot treats it as secured).
        warnings.simplefilter("ignore", UserWarning)
        assert client.connect("alice@example.test", PASSWORD, authmech="PLAIN")
    try:
        assert "vacation" in client.get_sieve_capabilities()
        assert "vacation-seconds" not in client.get_sieve_capabilities()
        assert client.listscripts() == (None, [])
    finally:
        client.logout()


def test_rspamd_controller_needs_its_password(mail_stack):
    base = f"http://{mail_stack['LISTEN_ADDRESS']}:{mail_stack['RSPAMD_CONTROLLER_PORT']}"
    spam = message("a@sender.test", "bob@example.test", "spam").as_bytes()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(f"{base}/learnspam", data=spam), timeout=10)
    assert refused.value.code in (401, 403)
    assert "version" in rspamd_stat(mail_stack)
    secrets = Path(mail_stack["DATA_DIR"]) / "secrets"
    import grp

    # root's, readable by the web app's group only
    for path, mode in ((secrets, 0o750), (secrets / "rspamd_password", 0o640), (secrets / "secret_key", 0o640)):
        info = path.stat()
        assert (info.st_mode & 0o777, info.st_uid, grp.getgrgid(info.st_gid).gr_name) == (mode, 0, "mailroom")
    assert len((secrets / "secret_key").read_text().strip()) == 64


def test_flask_cli_status_json_and_error_exit(mail_stack):
    app = Flask(__name__)
    app.config.update(mail_stack)
    app.cli.add_command(stack_cli)
    result = app.test_cli_runner().invoke(args=["stack", "status", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["run_dir"] == mail_stack["STACK_DIR"]
    assert document["services"]["smtp"]["answers"] is True
    assert document["services"]["redis"]["port"] == mail_stack["REDIS_PORT"]
    assert document["services"]["worker"]["answers"] is True
    app.config["STACK_DIR"] = "/no such/dir"
    result = app.test_cli_runner().invoke(args=["stack", "status"])
    assert result.exit_code != 0 and "MAILROOM_STACK_DIR" in result.output
    assert "Traceback" not in result.output


def test_up_again_is_harmless(mail_stack):
    layout = Layout.from_config(mail_stack)
    before = {name: running(layout, name) for name in DAEMONS}
    lines = up(mail_stack)
    assert all(any(line.startswith(f"{name}: already running") for line in lines) for name in DAEMONS), lines
    assert before == {name: running(layout, name) for name in DAEMONS}
    assert all(s.answers for s in status(mail_stack))


def test_changed_setting_reloads_the_daemons_that_read_it(mail_stack):
    layout = Layout.from_config(mail_stack)
    before = {name: running(layout, name) for name in DAEMONS}
    try:
        lines = up({**mail_stack, "MAIL_HOSTNAME": "mx.changed.test"})
        assert any(line.startswith("postfix: already running; configuration changed") for line in lines)
        assert any(line.startswith("dovecot: already running; configuration changed") for line in lines)
        assert any(line.startswith("redis: already running (pid") for line in lines)
        assert ehlo_name_becomes(mail_stack, "mx.changed.test")
    finally:
        up(mail_stack)
    assert before == {name: running(layout, name) for name in DAEMONS}
    assert ehlo_name_becomes(mail_stack, mail_stack["MAIL_HOSTNAME"])



def test_up_and_down_print_json_as_every_command_does(mail_stack, other_dir):
    app = Flask(__name__)
    app.config.update(mail_stack)
    app.cli.add_command(stack_cli)
    result = app.test_cli_runner().invoke(args=["stack", "up", "--json"])
    assert result.exit_code == 0, result.output
    lines = json.loads(result.output)["lines"]
    assert all(any(line.startswith(f"{name}: already running") for line in lines) for name in DAEMONS)
    # `down` of a stack directory nothing was started from: answers without touching ours.
    app.config.update(load_config({**_ports(mail_stack), "DATA_DIR": str(other_dir / "data")},
                                  environ={}))
    result = app.test_cli_runner().invoke(args=["stack", "down", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"lines": [f"{name}: not running" for name in reversed(DAEMONS)]}
    assert all(s.answers for s in status(mail_stack))


def ehlo_name_becomes(cfg, expected, timeout=5.0) -> bool:
    """Whether Postfix's EHLO reply names EXPECTED soon (old smtpd processes finish first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with smtplib.SMTP(cfg["LISTEN_ADDRESS"], cfg["SMTP_PORT"], local_hostname="localhost",
                          timeout=15) as smtp:
            if smtp.ehlo()[1].decode().splitlines()[0] == expected:
                return True
        time.sleep(0.1)
    return False


@pytest.fixture
def other_dir():
    """A second, empty temporary directory (mode 0700, as mkdtemp makes it)."""
    path = Path(tempfile.mkdtemp(prefix="mailroom-other-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_taken_port_is_named_with_its_variable(mail_stack, other_dir):
    other_dir.chmod(0o755)
    cfg = load_config({**_ports(mail_stack), "DATA_DIR": str(other_dir / "data")}, environ={})
    # The first daemon to start that listens is the worker (its auth policy server).
    port = mail_stack["AUTH_POLICY_PORT"]
    with pytest.raises(StackError, match=rf"port 127.0.0.1:{port} \(worker\) .*MAILROOM_AUTH_POLICY_PORT"):
        up(cfg)
    assert not list((other_dir / "data" / "stack" / "run" / "mailroom").glob("*.pid"))


def test_untraversable_parent_is_refused(mail_stack, other_dir):
    cfg = load_config({**_ports(mail_stack), "DATA_DIR": str(other_dir / "data")}, environ={})
    with pytest.raises(StackError, match=f"{other_dir} is not traversable by user"):
        up(cfg)


def test_one_daemon_is_started_and_stopped_by_name_on_a_started_stack(mail_stack, other_dir):
    assert start_daemon(mail_stack, "redis") == "redis: already running"
    with pytest.raises(StackError, match="no daemon 'nginx'.*worker, redis"):
        stop_daemon(mail_stack, "nginx")
    cfg = load_config({**_ports(mail_stack), "DATA_DIR": str(other_dir / "data")}, environ={})
    with pytest.raises(StackError, match="never been started"):
        stop_daemon(cfg, "redis")


def _ports(cfg) -> dict:
    return {key: cfg[key] for key in cfg if key.endswith("_PORT")}


# Failing logins last, and from their own address (Dovecot's auth penalty is per IP).

def test_outside_address_needs_starttls_before_login(mail_stack):
    conn = OutsideIMAP(mail_stack["LISTEN_ADDRESS"], mail_stack["IMAP_PORT"], OUTSIDE)
    try:
        assert "LOGINDISABLED" in conn.capabilities
        conn.starttls(ssl_context=tls_context(mail_stack))
        assert conn.login("alice@example.test", PASSWORD)[0] == "OK"
    finally:
        conn.shutdown()


def test_disabled_mailbox_cannot_log_in_but_still_receives(mail_stack):
    address = add_mailbox(mail_stack, "carol", enabled=False)
    conn = OutsideIMAP(mail_stack["LISTEN_ADDRESS"], mail_stack["IMAP_PORT"], OUTSIDE_IMAP_FAIL)
    try:
        conn.starttls(ssl_context=tls_context(mail_stack))
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            conn.login(address, PASSWORD)
    finally:
        conn.shutdown()
    with smtplib.SMTP(mail_stack["LISTEN_ADDRESS"], mail_stack["SUBMISSION_PORT"], local_hostname="localhost",
                      timeout=30, source_address=(OUTSIDE_SMTP_FAIL, 0)) as smtp:
        smtp.starttls(context=tls_context(mail_stack))
        smtp.ehlo()
        smtp.user, smtp.password = address, PASSWORD
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.auth("PLAIN", smtp.auth_plain)  # one attempt (login() would try LOGIN too)
    token = uuid.uuid4().hex
    send_inbound(mail_stack, address, token)
    assert maildir_has(mail_stack, address, token)


def test_config_values_are_quoted_or_refused():
    """Pure check of the one escaping function (no daemons needed)."""
    from stack.quoting import quote

    assert quote("it's", "sql") == "'it''s'"
    assert quote("50%", "sql_expand") == "'50%%'"
    assert quote('a"b\\c', "dovecot") == '"a\\"b\\\\c"'
    assert quote("pa$$word", "postfix") == "pa$$$$word"
    assert quote("it's $HOME", "ucl") == "'it\\'s $HOME'"
    for value, syntax in (("a\nb", "postfix"), ("x\\y", "ucl"), ("$x", "dovecot"),
                          ("a b", "bare"), ("-bad-.test", "hostname")):
        with pytest.raises(StackError):
            quote(value, syntax)


def test_databases_are_readable_by_whom_they_serve_only(mail_stack):
    import grp
    import os
    import stat

    import pwd

    if pgsql.is_postgresql(mail_stack):
        pytest.skip("the SQLite files' modes; PostgreSQL's roles: test_stack_postgresql.py")
    layout = Layout.from_config(mail_stack)
    private = [Path(f"{layout.private_database}{suffix}") for suffix in ("", "-wal", "-shm")]
    for path, mode, owner in ((layout.database, 0o640, ("mailroom", "postfix")),
                              (layout.database.parent, 0o750, ("mailroom", "postfix")),
                              *((path, 0o600, ("mailroom", "mailroom")) for path in private
                                if path.exists())):
        info = os.stat(path)
        assert stat.S_IMODE(info.st_mode) == mode, path
        assert (pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name) == owner, path


def test_healthz_says_every_part_answers(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "imap": "ok", "submission": "ok"}


def test_tls_from_the_first_byte_on_imaps_pop3s_and_submissions(mail_stack):
    sender = add_mailbox(mail_stack, f"tls{uuid.uuid4().hex[:6]}")
    host, context = mail_stack["LISTEN_ADDRESS"], tls_context(mail_stack)
    token = uuid.uuid4().hex
    with smtplib.SMTP_SSL(host, mail_stack["SMTPS_PORT"], local_hostname="localhost",
                          timeout=15, context=context) as smtp:
        smtp.login(sender, PASSWORD)
        smtp.send_message(message(sender, sender, token))
    assert maildir_has(mail_stack, sender, token)
    with IMAPClient(host, port=mail_stack["IMAPS_PORT"], ssl=True, ssl_context=context,
                    timeout=15) as client:
        client.login(sender, PASSWORD)
        client.select_folder("INBOX", readonly=True)
        assert client.search(["SUBJECT", token])
    pop = poplib.POP3_SSL(host, mail_stack["POP3S_PORT"], context=context, timeout=15)
    try:
        pop.user(sender)
        pop.pass_(PASSWORD)
        assert pop.stat()[0] >= 1
    finally:
        pop.quit()


def test_redis_answers_only_with_its_password(mail_stack):
    from core.mail import rspamd

    with socket.create_connection((mail_stack["LISTEN_ADDRESS"], mail_stack["REDIS_PORT"]), timeout=5) as sock:
        sock.sendall(b"*2\r\n$4\r\nKEYS\r\n$1\r\n*\r\n")
        assert sock.recv(200).startswith(b"-NOAUTH")
    assert len(mail_stack["REDIS_PASSWORD"]) >= 32
    spam, ham = rspamd.bayes_counts(rspamd.RspamdSettings.from_config(mail_stack))
    assert spam >= 0 and ham >= 0


def test_smtp_auth_attempts_per_client_are_limited(mail_stack):
    """Postfix's anvil counts every AUTH from a client address, accepted or not (issue 12.10):
    after AUTH_LIMIT in a minute the client is refused, and succeeding resets nothing."""
    from stack.render import AUTH_LIMIT

    address = add_mailbox(mail_stack, f"auth{uuid.uuid4().hex[:6]}")
    source = "127.0.0.61"  # an address of its own: the limit is per client
    answers = []
    for _ in range(AUTH_LIMIT + 2):
        with smtplib.SMTP(mail_stack["LISTEN_ADDRESS"], mail_stack["SUBMISSION_PORT"],
                          local_hostname="localhost", timeout=30, source_address=(source, 0)) as smtp:
            smtp.starttls(context=tls_context(mail_stack))
            smtp.ehlo()
            try:
                smtp.login(address, PASSWORD)
                answers.append(235)
            except smtplib.SMTPException as exc:
                answers.append(getattr(exc, "smtp_code", 0))
    assert answers[:AUTH_LIMIT] == [235] * AUTH_LIMIT
    assert all(400 <= code < 500 for code in answers[AUTH_LIMIT:]), answers


def test_authentication_results_from_the_client_are_dropped_on_the_way_in(mail_stack):
    # Issue 12 item 6: the webmail believes our Authentication-Results only. Rspamd removes
    # a client's; Postfix's own header_checks do too, for mail that passes Rspamd unscanned.
    etc = Path(mail_stack["STACK_DIR"]) / "etc" / "postfix"
    checks = subprocess.run(["postconf", "-c", str(etc), "-h", "header_checks"],
                            capture_output=True, text=True, check=True).stdout.strip()
    forged = f"Authentication-Results: {mail_stack['MAIL_HOSTNAME']}; dkim=pass header.d=x.test"
    for header in (forged, forged.lower()):
        answer = subprocess.run(["postmap", "-c", str(etc), "-q", header, checks],
                                capture_output=True, text=True, check=False).stdout.strip()
        assert answer == "IGNORE", (header, checks)
    assert subprocess.run(["postmap", "-c", str(etc), "-q", "Subject: Authentication-Results:",
                           checks], capture_output=True, check=False).returncode == 1


# A login refused by the limit still waits out Dovecot's own penalty (up to 15 s) first.
SLOW_LOGIN = 60


def imap_accepts(cfg, source, address, password) -> bool:
    """Whether IMAP LOGIN (after STARTTLS) from the client address SOURCE succeeds."""
    conn = OutsideIMAP(cfg["LISTEN_ADDRESS"], cfg["IMAP_PORT"], source, SLOW_LOGIN)
    try:
        conn.starttls(ssl_context=tls_context(cfg))
        conn.login(address, password)
        return True
    except imaplib.IMAP4.error:
        return False
    finally:
        conn.shutdown()


def pop3_accepts(cfg, source, address, password) -> bool:
    """Whether POP3 USER/PASS (after STLS) from SOURCE succeeds."""
    conn = OutsidePOP3(cfg["LISTEN_ADDRESS"], cfg["POP3_PORT"], source, SLOW_LOGIN)
    try:
        conn.stls(tls_context(cfg))
        conn.user(address)
        conn.pass_(password)
        return True
    except poplib.error_proto:
        return False
    finally:
        conn.close()


def sieve_accepts(cfg, source, address, password) -> bool:
    """Whether ManageSieve AUTHENTICATE PLAIN (after STARTTLS) from SOURCE succeeds (RFC 5804)."""
    def answer(stream) -> bytes:  # the line that ends the server's reply: OK, NO or BYE
        while not (line := stream.readline()).startswith((b"OK", b"NO", b"BYE")):
            assert line, "ManageSieve closed the connection"
        return line

    host = cfg["LISTEN_ADDRESS"]
    with socket.create_connection((host, cfg["SIEVE_PORT"]), SLOW_LOGIN, source_address=(source, 0)) as raw:
        answer(raw.makefile("rb"))
        raw.sendall(b"STARTTLS\r\n")
        answer(raw.makefile("rb"))
        with tls_context(cfg).wrap_socket(raw, server_hostname=host) as tls:
            stream = tls.makefile("rb")
            answer(stream)
            plain = b64encode(f"\0{address}\0{password}".encode()).decode()
            tls.sendall(f'AUTHENTICATE "PLAIN" "{plain}"\r\n'.encode())
            return answer(stream).startswith(b"OK")


def test_failed_logins_per_client_are_limited_and_a_success_resets_nothing(mail_stack):
    """IMAP, POP3 and ManageSieve refuse a client address after LOGIN_LIMIT_IP failed logins
    (issue 12.10), even with the right password; a login that succeeds in between, as the
    guesser's own account, takes nothing off the count (Dovecot's own penalty it resets)."""
    limit = parse(mail_stack["LOGIN_LIMIT_IP"]).amount
    victim = add_mailbox(mail_stack, f"guessed{uuid.uuid4().hex[:6]}")
    own = add_mailbox(mail_stack, f"guesser{uuid.uuid4().hex[:6]}")
    source, elsewhere = "127.0.0.72", "127.0.0.73"  # addresses of their own: the limit is per client
    # At once: one after the other, Dovecot's penalty would space the guesses up to 17 s apart.
    with ThreadPoolExecutor(limit) as pool:
        guesses = list(pool.map(lambda n: imap_accepts(mail_stack, source, victim, f"guess-{n}"),
                                range(limit - 1)))
    assert not any(guesses)
    assert imap_accepts(mail_stack, source, own, PASSWORD)  # still under the limit
    assert not imap_accepts(mail_stack, source, victim, "one guess more")
    with ThreadPoolExecutor(4) as pool:
        refused = [pool.submit(check, mail_stack, source, address, PASSWORD) for check, address in
                   ((imap_accepts, own), (pop3_accepts, own), (sieve_accepts, victim))]
        other_client = pool.submit(imap_accepts, mail_stack, elsewhere, victim, PASSWORD)
        assert [future.result() for future in refused] == [False, False, False]
        assert other_client.result()


def test_logins_are_refused_while_the_auth_policy_server_is_down(mail_stack):
    """Dovecot fails closed (auth_policy_reject_on_fail): with the worker stopped nobody
    logs in, so stopping it gives no unlimited guesses; `stack up` brings it back."""
    from stack import daemons

    address = add_mailbox(mail_stack, f"policy{uuid.uuid4().hex[:6]}")
    source = "127.0.0.75"
    daemons.stop(Layout.from_config(mail_stack), "worker")
    try:
        assert not imap_accepts(mail_stack, source, address, PASSWORD)
    finally:
        up(mail_stack)
    assert imap_accepts(mail_stack, source, address, PASSWORD)
