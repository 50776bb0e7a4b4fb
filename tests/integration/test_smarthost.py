"""Admin → Server → Smarthost: all mail for other domains leaves through an in-test SMTP
server that requires AUTH (over STARTTLS, or TLS from the first byte), signed in with the
stored user name and password; the password is never readable by the web app's user,
never in a process's argv, never printed back.

The in-test servers use the stack's self-signed certificate: Postfix's `encrypt` level
insists on TLS but checks no certificate (as the page says).
"""
from __future__ import annotations

import json
import logging
import os
import ssl
import stat
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from core.models import AuditEntry, ServerSettings
from core.models.server import SMARTHOST_PASSWORD, sealed_secret
from core.services.server import smarthost
from stack.layout import Layout
from tests.conftest import free_ports
from tests.helpers import new_address, submit
from tests.integration.admin_support import unique, wait_until
from tests.integration.test_admin_cli import cli  # noqa: F401  (a fixture)

from .server_support import admin, relay_answer, relay_domain  # noqa: F401  (admin: a fixture)

log = logging.getLogger(__name__)
USER = "relay-user@provider.test"
EXTERNAL = "someone@elsewhere.example"


class AuthSink:
    """A provider's outgoing server: takes mail only after AUTH with USER and its PASSWORD."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.logins: list[tuple[str, str, bool]] = []  # (user, password, accepted)
        self.received: list[dict] = []

    def authenticate(self, server, session, envelope, mechanism, data):
        assert isinstance(data, LoginPassword)
        user, password = data.login.decode(), data.password.decode()
        ok = (user, password) == (USER, self.password)
        self.logins.append((user, password, ok))
        return AuthResult(success=ok, auth_data=data)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        login = session.auth_data.login if session.authenticated else None
        self.received.append({"login": login, "authenticated": session.authenticated,
                              "tls": server.transport.get_extra_info("ssl_object") is not None,
                              "rcpt": list(envelope.rcpt_tos), "content": envelope.content})
        return "250 OK"

    def with_subject(self, subject: str) -> list[dict]:
        return [item for item in self.received if subject.encode() in item["content"]]


def server_tls(cfg: dict) -> ssl.SSLContext:
    """The stack's own certificate for the in-test server (self-signed)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(Layout.from_config(cfg).cert, Layout.from_config(cfg).key)
    return ctx


@contextmanager
def provider(cfg: dict, password: str, tls: str):
    """An in-test SMTP server requiring AUTH, with STARTTLS (required) or implicit TLS."""
    sink, port = AuthSink(password), free_ports(1)[0]
    common = {"hostname": "127.0.0.1", "port": port, "authenticator": sink.authenticate,
              "auth_required": True}
    if tls == "starttls":
        controller = Controller(sink, tls_context=server_tls(cfg), require_starttls=True, **common)
    else:
        controller = Controller(sink, ssl_context=server_tls(cfg), auth_require_tls=False, **common)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def no_smarthost(mail_stack, stack_db):
    """The session's stack is shared: no smarthost before or after each test."""
    with stack_db.factory() as session:
        smarthost.clear(session, mail_stack, "tests")
    yield
    with stack_db.factory() as session:
        smarthost.clear(session, mail_stack, "tests")
    # Back to the loopback stack's own rule: nothing leaves for the internet.
    assert relay_answer(mail_stack, "127.0.0.1", EXTERNAL)[0] == 550


def test_mail_for_other_domains_goes_through_the_smarthost_signed_in_over_starttls(
        admin, mail_stack, stack_db, domain):
    password = f"Sm4rt {unique('pw')} $x:y#"  # blanks, $, : and # inside are kept as typed
    sender = new_address(stack_db, domain, "outgoing", spam_to_junk=False)
    with provider(mail_stack, password, "starttls") as (sink, port), relay_domain(admin) as (far, farsink):
        began = time.monotonic()
        response = admin.post("/admin/server/smarthost", {
            "smarthost_host": "127.0.0.1", "smarthost_port": str(port), "smarthost_tls": "starttls",
            "smarthost_username": USER, "smarthost_password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        saved = time.monotonic() - began
        subject = unique("via-smarthost")
        submit(mail_stack, sender, EXTERNAL, subject)
        assert wait_until(lambda: sink.with_subject(subject), 30), sink.logins
        log.info("smarthost (STARTTLS): saved and Postfix reloaded in %.2f s; a message submitted "
                 "then reached the smarthost after %.2f s", saved, time.monotonic() - began)
        got = sink.with_subject(subject)[0]
        assert got["authenticated"] and got["login"] == USER.encode() and got["tls"], got
        assert got["rcpt"] == [EXTERNAL]
        assert (USER, password, True) in sink.logins

        relayed = unique("relay-domain")  # a relay domain keeps its own host
        submit(mail_stack, sender, f"partner@{far}", relayed)
        assert wait_until(lambda: farsink.with_subject(relayed), 30)
        assert not sink.with_subject(relayed)

        page = admin.get("/admin/server/smarthost").get_data(as_text=True)
        assert "A password is set." in page and password not in page
        assert 'name="smarthost_password" type="password" value=""' in page
        password_stays_with_root(mail_stack, password)


def password_stays_with_root(cfg: dict, password: str) -> None:
    """The password is in Postfix's password file (root's, 0600) and in no file the web
    app's user can read, in nobody's argv, in no audit entry."""
    base = Path(cfg["DATA_DIR"]).parent
    table = Layout.from_config(cfg).postfix_etc / "smarthost_password"
    st = table.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600)
    as_root = grep(base, password)
    assert as_root == [str(table)], as_root  # found, and only there
    assert grep(base, password, user="mailroom") == []
    assert grep(Path("/tmp"), password, user="mailroom") == []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            assert password.encode() not in cmdline.read_bytes(), cmdline
        except OSError:
            continue  # the process ended meanwhile


def grep(folder: Path, text: str, user: str | None = None) -> list[str]:
    """Files under FOLDER containing TEXT, read as USER (root if None); TEXT goes on stdin."""
    command = ["grep", "-rlsF", "-f", "-", str(folder)]
    if user:
        command = ["runuser", "-u", user, "--", *command]
    done = subprocess.run(command, input=text + "\n", capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1, 2), done.stderr
    return sorted(done.stdout.split())


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # TLS from the first byte
def test_command_sets_implicit_tls_with_the_password_on_stdin_and_never_shows_it(
        cli, mail_stack, stack_db, domain):
    password = unique("stdin-pw")
    sender = new_address(stack_db, domain, "implicit", spam_to_junk=False)
    with provider(mail_stack, password, "ssl") as (sink, port):
        code, done = cli("smarthost", "set", f"127.0.0.1:{port}", "--tls", "ssl", "--username", USER,
                         "--password-stdin", "--json", stdin=password + "\n")
        assert code == 0, done
        assert done["live"] is True and done["relayhost"] == f"[127.0.0.1]:{port}"
        assert done["password_set"] is True and password not in json.dumps(done)
        code, shown = cli("smarthost", "show", "--json")
        assert code == 0 and shown == {"host": "127.0.0.1", "port": port, "tls": "ssl", "username": USER,
                                       "password_set": True, "relayhost": f"[127.0.0.1]:{port}"}
        subject = unique("implicit-tls")
        submit(mail_stack, sender, EXTERNAL, subject)
        assert wait_until(lambda: sink.with_subject(subject), 30), sink.logins
        got = sink.with_subject(subject)[0]
        assert got["authenticated"] and got["login"] == USER.encode() and got["tls"]
        with stack_db.factory() as session:
            entries = session.query(AuditEntry).filter_by(kind="server").all()
            assert entries and not any(password in json.dumps([e.before, e.after], default=str)
                                       for e in entries)
        password_stays_with_root(mail_stack, password)

        assert cli("smarthost", "set", "127.0.0.1:0", "--json")[0] != 0
        code, output = cli("smarthost", "set", f"127.0.0.1:{port}", "--username", USER)
        assert code != 0 and "go together" in output
        code, done = cli("smarthost", "clear", "--json")
        assert code == 0 and done["host"] is None and done["password_set"] is False
    code, shown = cli("smarthost", "show")
    assert code == 0 and "No smarthost" in shown


def test_a_new_host_or_port_asks_for_the_password_again(admin, stack_db, mail_stack):
    fields = {"smarthost_host": "127.0.0.1", "smarthost_port": "2525", "smarthost_tls": "starttls",
              "smarthost_username": USER, "smarthost_password": "first-password"}
    assert admin.post("/admin/server/smarthost", fields).status_code == 302
    kept = {**fields, "smarthost_password": "", "smarthost_tls": "ssl"}  # same place: kept
    assert admin.post("/admin/server/smarthost", kept).status_code == 302
    with stack_db.factory() as session:
        sealed = sealed_secret(session, SMARTHOST_PASSWORD)
        assert sealed and b"first-password" not in sealed
        assert session.get(ServerSettings, 1).smarthost_tls == "ssl"
    response = admin.post("/admin/server/smarthost", {**kept, "smarthost_port": "2526"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="f-smarthost_password-error">Password: the password is only ever sent' in page
    response = admin.post("/admin/server/smarthost", {**kept, "sign_out": "on"})
    assert response.status_code == 302
    with stack_db.factory() as session:
        assert sealed_secret(session, SMARTHOST_PASSWORD) is None
        assert session.get(ServerSettings, 1).smarthost_username == ""


def test_bad_values_are_refused_next_to_their_field_and_change_nothing(admin, stack_db):
    cases = (
        ({"smarthost_host": "bad host;", "smarthost_port": "587"}, "f-smarthost_host-error"),
        ({"smarthost_host": "smtp.example.net", "smarthost_port": "99999"},
         'id="f-smarthost_port-error">Port: enter a whole number from 1 to 65535.'),
        ({"smarthost_host": "", "smarthost_port": "587"}, "f-smarthost_host-error"),
        ({"smarthost_host": "::1", "smarthost_port": "587"}, "IPv6"),
        ({"smarthost_host": "smtp.example.net", "smarthost_port": "587", "smarthost_username": "a b"},
         "f-smarthost_username-error"),
        ({"smarthost_host": "smtp.example.net", "smarthost_port": "587", "smarthost_username": USER},
         'id="f-smarthost_password-error">Password: enter the password for this user name.'),
        ({"smarthost_host": "smtp.example.net", "smarthost_port": "587", "smarthost_username": USER,
          "smarthost_password": " edge "}, "no blanks at its start or end"),
        ({"smarthost_host": "smtp.example.net", "smarthost_port": "587", "smarthost_password": "pw"},
         'id="f-smarthost_username-error">'),
    )
    for fields, error in cases:
        response = admin.post("/admin/server/smarthost", {"smarthost_tls": "starttls", **fields})
        page = response.get_data(as_text=True)
        assert response.status_code == 400 and error in page, (fields, page[:3000])
        assert 'value="' + fields["smarthost_host"] + '"' in page  # what was typed comes back
    with stack_db.factory() as session:
        row = session.get(ServerSettings, 1)
        assert row is None or row.smarthost_host == ""
        assert sealed_secret(session, SMARTHOST_PASSWORD) is None


def test_a_configuration_postfix_refuses_is_undone_with_the_old_password(cli, mail_stack, stack_db):
    """A value Postfix refuses (a hand edit of the database) makes the save fail: host and
    sealed password are the old ones again, and so is Postfix's password file."""
    table = Layout.from_config(mail_stack).postfix_etc / "smarthost_password"
    assert cli("smarthost", "set", "127.0.0.1:2525", "--username", USER, "--password-stdin",
               stdin="old-password\n")[0] == 0
    with stack_db.factory() as session:
        old = sealed_secret(session, SMARTHOST_PASSWORD)
    with stack_db.transaction() as session:
        session.get(ServerSettings, 1).message_size_mb = 10 ** 14
    try:
        code, output = cli("smarthost", "set", "127.0.0.1:2626", "--username", USER, "--password-stdin",
                           stdin="new-password\n")
        assert code != 0 and "bad numerical configuration: message_size_limit" in output, output
        with stack_db.factory() as session:
            assert session.get(ServerSettings, 1).smarthost_port == 2525
            assert sealed_secret(session, SMARTHOST_PASSWORD) == old
        assert f"[127.0.0.1]:2525 {USER}:old-password" in table.read_text()
    finally:
        with stack_db.transaction() as session:
            session.get(ServerSettings, 1).message_size_mb = int(mail_stack["MESSAGE_SIZE_LIMIT_MB"])
