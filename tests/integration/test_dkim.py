"""DKIM signing per domain (issue 13 item 7) against the real Postfix, Rspamd and filter.

Mail is submitted by a signed-in user to an address of a relay domain whose relay host
is an SMTP server run by the test (aiosmtpd); what it receives is checked with dkimpy,
whose DNS lookup answers with the TXT value `dkim show` prints, and nothing else.
"""
from __future__ import annotations

import email
import grp
import html
import json
import re
import stat
import uuid
from email import policy

import dkim as dkimpy
import pytest
from aiosmtpd.controller import Controller

from core.models import AuditEntry
from core.services.directory import disclaimers, domains, lookup
from stack.dkim import key_path
from stack.layout import Layout
from tests.conftest import free_ports
from tests.helpers import deliver_raw, new_address, submit, wait_for_subject
from tests.integration.admin_support import domain_admin, server_admin, wait_until

ACTOR = "tests@example.test"


class Sink:
    """aiosmtpd handler keeping every message it is handed, as bytes."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.received.append(envelope.original_content or envelope.content)
        return "250 OK"

    def message(self, subject: str) -> bytes:
        """The message with SUBJECT, once it arrived (AssertionError after 30 s)."""
        token = subject.encode()
        assert wait_until(lambda: any(token in m for m in self.received), 30), subject
        return next(m for m in self.received if token in m)


@pytest.fixture(scope="module")
def relay(stack_db):
    """(relay domain, sink): mail to the domain is handed to the test's own SMTP server."""
    sink = Sink()
    port = free_ports(1)[0]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    name = f"relay-{uuid.uuid4().hex[:8]}.test"
    with stack_db.transaction() as session:
        domains.update_domain(session, ACTOR, lookup.add_domain(session, name), mode="relay",
                              relay=f"127.0.0.1:{port}")
    yield name, sink
    controller.stop()


@pytest.fixture
def cli(app):
    """Run a `dkim` command; (exit code, output) with --json output parsed."""
    runner = app.test_cli_runner()

    def run(*args):
        result = runner.invoke(args=["dkim", *args])
        assert "Traceback" not in result.output
        if result.exit_code == 0 and "--json" in args:
            return 0, json.loads(result.output)
        return result.exit_code, result.output
    return run


def new_domain(stack_db, prefix: str = "dkim") -> str:
    """A fresh local domain (signing starts off)."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}.test"
    with stack_db.transaction() as session:
        lookup.add_domain(session, name)
    return name


def dns_for(shown: dict):
    """dkimpy's DNS lookup, answering only the record `dkim show` printed."""
    value = "".join(re.findall(r'"([^"]*)"', shown["txt"])).encode()

    def lookup_txt(name, timeout=5):
        wanted = shown["name"] + "."
        return value if (name.decode() if isinstance(name, bytes) else name) == wanted else None
    return lookup_txt


def signatures(raw: bytes) -> list[str]:
    """The DKIM-Signature headers of RAW."""
    return email.message_from_bytes(raw, policy=policy.compat32).get_all("DKIM-Signature") or []


def send(cfg, sender: str, to: str) -> str:
    """Submit a message from SENDER to TO; its subject."""
    subject = f"dkim {uuid.uuid4().hex}"
    submit(cfg, sender, to, subject)
    return subject


def test_submitted_mail_is_signed_and_verifies_with_the_shown_record(
        cli, mail_stack, stack_db, relay):
    name, sink = relay
    signer = new_domain(stack_db)
    sender = new_address(stack_db, signer, "sender")
    code, enabled = cli("enable", signer, "--json")
    assert code == 0 and enabled["enabled"] is True, enabled
    code, shown = cli("show", signer, "--json")
    assert code == 0 and shown["selector"] == "default"
    assert shown["name"] == f"default._domainkey.{signer}"
    strings = re.findall(r'"([^"]*)"', shown["txt"])
    assert len(strings) == 2 and all(len(s.encode()) <= 255 for s in strings)
    assert strings[0].startswith("v=DKIM1; k=rsa; p=") and len(strings[0]) == 255

    raw = sink.message(send(mail_stack, sender, f"someone@{name}"))
    [signature] = signatures(raw)
    assert f"d={signer}" in signature.replace(" ", "") and "s=default" in signature.replace(" ", "")
    assert dkimpy.verify(raw, dnsfunc=dns_for(shown))
    # Signed once, scanned once: the signing pass adds no second set of Rspamd's headers.
    assert len(email.message_from_bytes(raw).get_all("Authentication-Results")) == 1

    tampered = raw.replace(b"Hello from the tests.", b"Hello from someone else.")
    assert not dkimpy.verify(tampered, dnsfunc=dns_for(shown))


def test_key_is_readable_by_rspamd_only(cli, mail_stack, stack_db):
    signer = new_domain(stack_db)
    assert cli("enable", signer, "--json")[0] == 0
    path = key_path(Layout.from_config(mail_stack), signer)
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o640 and info.st_uid == 0
    assert grp.getgrgid(info.st_gid).gr_name == "_rspamd"
    folder = path.parent.stat()
    assert stat.S_IMODE(folder.st_mode) == 0o750 and grp.getgrgid(folder.st_gid).gr_name == "_rspamd"
    assert b"BEGIN PRIVATE KEY" in path.read_bytes()


def test_disclaimer_is_added_before_signing_so_the_signature_verifies(
        cli, mail_stack, stack_db, relay):
    name, sink = relay
    signer = new_domain(stack_db, "dkim-disclaimer")
    sender = new_address(stack_db, signer, "staff")
    with stack_db.transaction() as session:
        disclaimers.set_disclaimer(session, signer, True, "**Confidential** text", actor=ACTOR)
    assert cli("enable", signer, "--json")[0] == 0
    shown = cli("show", signer, "--json")[1]

    raw = sink.message(send(mail_stack, sender, f"someone@{name}"))
    assert b"Confidential" in raw  # the disclaimer's part is there
    assert len(signatures(raw)) == 1 and dkimpy.verify(raw, dnsfunc=dns_for(shown))


def test_inbound_mail_is_never_signed(cli, mail_stack, stack_db):
    signer = new_domain(stack_db)
    person = new_address(stack_db, signer, "person", spam_to_junk=False)
    assert cli("enable", signer, "--json")[0] == 0
    subject = f"inbound {uuid.uuid4().hex}"
    # Even claiming to come from the signing domain, from the trusted loopback network.
    raw = (f"From: boss@{signer}\r\nTo: {person}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{uuid.uuid4().hex}@test>\r\n\r\nHello.\r\n").encode()
    deliver_raw(mail_stack, person, raw, sender=f"boss@{signer}")
    assert signatures(wait_for_subject(mail_stack, person, subject)) == []


def test_local_mail_over_submission_is_signed(cli, mail_stack, stack_db):
    signer = new_domain(stack_db)
    sender = new_address(stack_db, signer, "a")
    colleague = new_address(stack_db, signer, "b", spam_to_junk=False)
    assert cli("enable", signer, "--json")[0] == 0
    shown = cli("show", signer, "--json")[1]
    raw = wait_for_subject(mail_stack, colleague, send(mail_stack, sender, colleague))
    assert dkimpy.verify(raw, dnsfunc=dns_for(shown))


def test_off_stops_signing_keeps_the_key_and_on_again_reuses_it(
        cli, mail_stack, stack_db, relay):
    name, sink = relay
    signer = new_domain(stack_db)
    sender = new_address(stack_db, signer, "sender")
    assert cli("enable", signer, "--json")[0] == 0
    first = cli("show", signer, "--json")[1]

    code, off = cli("disable", signer, "--json")
    assert code == 0 and off["enabled"] is False and off["key"] is True
    assert signatures(sink.message(send(mail_stack, sender, f"someone@{name}"))) == []
    assert key_path(Layout.from_config(mail_stack), signer).exists()

    assert cli("enable", signer, "--json")[0] == 0
    assert cli("show", signer, "--json")[1]["txt"] == first["txt"]
    raw = sink.message(send(mail_stack, sender, f"someone@{name}"))
    assert dkimpy.verify(raw, dnsfunc=dns_for(first))

    with stack_db.transaction() as session:
        logged = [(e.before, e.after) for e in session.query(AuditEntry)
                  .filter_by(target=signer, kind="domain").order_by(AuditEntry.id)]
    assert [json.loads(after)["dkim_signing"] for _, after in logged] == [True, False, True]
    assert json.loads(logged[0][0]) == {"dkim_signing": False, "dkim_key": False}


def test_remove_key_needs_signing_off_and_then_deletes_it(cli, mail_stack, stack_db):
    signer = new_domain(stack_db)
    assert cli("enable", signer, "--json")[0] == 0
    path = key_path(Layout.from_config(mail_stack), signer)
    code, output = cli("remove", signer, "--yes")
    assert code != 0 and "turn it off" in output and path.exists()
    assert cli("disable", signer, "--json")[0] == 0
    code, removed = cli("remove", signer, "--yes", "--json")
    assert code == 0 and removed["key"] is False and removed["txt"] is None
    assert not path.exists()
    code, output = cli("remove", signer, "--yes")
    assert code != 0 and "no DKIM key" in output


def test_bad_input_is_refused_and_changes_nothing(cli, mail_stack, stack_db):
    missing = f"nosuch-{uuid.uuid4().hex[:8]}.test"
    code, output = cli("enable", missing)
    assert code != 0 and f"There is no domain {missing}" in output
    assert not key_path(Layout.from_config(mail_stack), missing).exists()
    code, output = cli("enable", "not a domain")
    assert code != 0 and "not a" in output
    assert cli("remove", new_domain(stack_db))[0] != 0  # --yes is required


def test_configuration_rspamd_refuses_is_rolled_back_with_its_error(cli, mail_stack, stack_db):
    signer = new_domain(stack_db)
    override = Layout.from_config(mail_stack).rspamd_etc / "override.d" / "dkim_signing.conf"
    override.write_text("this is { not UCL\n", encoding="utf-8")
    try:
        code, output = cli("enable", signer)
    finally:
        override.unlink()
    assert code != 0 and "Rspamd refused the configuration" in output
    with stack_db.transaction() as session:
        assert lookup.get_domain(session, signer).dkim_enabled is False
    code, shown = cli("show", signer, "--json")
    assert shown["enabled"] is False
    assert signer not in (Layout.from_config(mail_stack).rspamd_etc / "dkim_domains.inc").read_text()


def test_domain_page_toggles_signing_and_shows_the_record_to_its_domain_admin(
        app, cli, mail_stack, stack_db, domain):
    signer = new_domain(stack_db, "dkim-page")
    root = server_admin(app, stack_db, domain)
    local = domain_admin(app, stack_db, domain, of=signer)
    other = domain_admin(app, stack_db, domain, of=domain)
    page = root.text(f"/admin/domains/{signer}")
    assert "Sign outbound messages with DKIM" in page and "_domainkey" not in page

    response = root.post(f"/admin/domains/{signer}/dkim", {"sign": "on"})
    assert response.status_code == 302
    page = html.unescape(local.text(f"/admin/domains/{signer}"))
    assert f"default._domainkey.{signer}" in page
    assert cli("show", signer, "--json")[1]["txt"] in page
    assert 'name="sign"' not in page and "Remove key" not in page  # a domain admin only reads
    assert local.post(f"/admin/domains/{signer}/dkim", {}).status_code == 403
    assert other.get(f"/admin/domains/{signer}").status_code == 403
    with stack_db.transaction() as session:
        assert lookup.get_domain(session, signer).dkim_enabled is True

    assert root.post(f"/admin/domains/{signer}/dkim", {}).status_code == 302  # unticked: off
    assert root.get(f"/admin/domains/{signer}/dkim/remove").status_code == 200
    assert local.post(f"/admin/domains/{signer}/dkim/remove").status_code == 403
    assert root.post(f"/admin/domains/{signer}/dkim/remove").status_code == 302
    assert not key_path(Layout.from_config(mail_stack), signer).exists()
    assert "_domainkey" not in root.text(f"/admin/domains/{signer}")
