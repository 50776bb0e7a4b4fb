"""Admin → Server: message size, queue lifetime, global always-Bcc and HELO name, obeyed by
the running Postfix (a real message each time), and bad values that change nothing.

Each change is made through the admin page or the `settings` command and applied by the
privileged helper (postfix check, then reload); the seconds until the daemon obeys are
logged for the report (`-o log_cli=true`).
"""
from __future__ import annotations

import json
import logging
import subprocess
import time
from pathlib import Path

import pytest

from core.models import AuditEntry, ServerSettings
from tests.conftest import free_ports
from tests.helpers import PASSWORD, imap_login, message, new_address, signed_in_client, wait_for_subject
from tests.integration.admin_support import send_inbound, unique, wait_until
from tests.integration.test_compose import open_form, upload

from .server_support import (  # noqa: F401  (admin, defaults: fixtures)
    WEB_IP, admin, backdate, defaults, obeyed, postfix_tool, queued, relay_domain, save, smtp,
)

log = logging.getLogger(__name__)
MIB = 1024 * 1024


def ehlo_size(cfg: dict) -> int:
    """The SIZE Postfix advertises in its EHLO reply."""
    with smtp(cfg) as conn:
        conn.ehlo()
        return int(conn.esmtp_features["size"])


def copies(cfg: dict, address: str, subject: str) -> int:
    """How many messages with SUBJECT ADDRESS's INBOX holds."""
    client = imap_login(cfg, address)
    try:
        client.select_folder("INBOX", readonly=True)
        return len(client.search(["SUBJECT", subject]))
    finally:
        client.logout()


def test_message_size_limit_is_advertised_enforced_and_followed_by_compose(
        admin, app, mail_stack, stack_db, domain):
    began = time.monotonic()
    save(admin, "messages", message_size_mb="1", queue_lifetime_days="4")
    log.info("message size: saved and Postfix reloaded in %.2f s, EHLO SIZE changed after %.2f s",
             time.monotonic() - began, obeyed(lambda: ehlo_size(mail_stack) == MIB, began))
    rcpt = new_address(stack_db, domain, "sized", spam_to_junk=False)
    with smtp(mail_stack) as conn:
        conn.ehlo()
        code, text = conn.mail("someone@outside.test", [f"SIZE={2 * MIB}"])
    assert code == 552, text
    big = message("someone@outside.test", rcpt, unique("big"), "x" * (MIB + 200_000)).as_bytes()
    with smtp(mail_stack) as conn:  # no SIZE= announced: refused at the end of DATA
        conn.ehlo()
        conn.mail("someone@outside.test")
        conn.rcpt(rcpt)
        code, text = conn.data(big)
    assert code == 552, text
    small = unique("small")
    send_inbound(mail_stack, rcpt, small)
    wait_for_subject(mail_stack, rcpt, small)

    writer = signed_in_client(app, new_address(stack_db, domain, "writer"), ip=WEB_IP)
    page, fields = open_form(writer)
    assert "larger than 1 MB" in page
    answer = upload(writer, fields, "scan.pdf", b"%PDF" + b"0" * (MIB + 100_000))
    assert answer.status_code == 413 and "1 MB" in answer.get_json()["error"]


def test_always_bcc_copies_each_message_once_incoming_and_outgoing(admin, mail_stack, stack_db, domain):
    archive = new_address(stack_db, domain, "archive", spam_to_junk=False)
    people = [new_address(stack_db, domain, f"p{i}", spam_to_junk=False) for i in range(3)]
    with relay_domain(admin) as (far, sink):
        began = time.monotonic()
        save(admin, "bcc", always_bcc=archive.upper())  # stored normalised
        log.info("always-Bcc: saved and live in %.2f s", time.monotonic() - began)
        incoming = unique("incoming")
        with smtp(mail_stack) as conn:
            conn.send_message(message("someone@outside.test", ", ".join(people), incoming))
        for person in people:
            wait_for_subject(mail_stack, person, incoming)
        wait_for_subject(mail_stack, archive, incoming)

        outgoing = unique("outgoing")
        sender = people[0]
        submit_to(mail_stack, sender, [people[1], people[2], f"partner@{far}"], outgoing)
        assert wait_until(lambda: sink.with_subject(outgoing), 30)
        wait_for_subject(mail_stack, archive, outgoing)
        time.sleep(2)  # a second copy would have arrived by now
        assert copies(mail_stack, archive, incoming) == 1
        assert copies(mail_stack, archive, outgoing) == 1
        assert len(sink.with_subject(outgoing)) == 1

    save(admin, "bcc", always_bcc="")
    after = unique("cleared")
    send_inbound(mail_stack, people[1], after)
    wait_for_subject(mail_stack, people[1], after)
    time.sleep(1)
    assert copies(mail_stack, archive, after) == 0


def submit_to(cfg: dict, sender: str, recipients: list[str], subject: str) -> None:
    """Send over submission as SENDER to several RECIPIENTS in one message."""
    from core.mail import smtp as store

    store.send(store.SmtpSettings.submission(cfg), message(sender, ", ".join(recipients), subject),
               login=(sender, PASSWORD))


def test_per_domain_bcc_still_works_beside_the_global_one(admin, mail_stack, stack_db, domain):
    name = f"{unique('both')}.test"
    assert admin.post("/admin/domains", {"name": name}).status_code == 302
    archive = new_address(stack_db, domain, "globalcopy", spam_to_junk=False)
    local_copy = new_address(stack_db, domain, "domaincopy", spam_to_junk=False)
    assert admin.post(f"/admin/domains/{name}", {"mode": "deliver", "relay": "", "bcc": local_copy,
                                                  "catch_all": ""}).status_code == 302
    person = f"someone@{name}"
    assert admin.post("/admin/mailboxes/new", {"address": person, "password_mode": "password",
                                                "password": PASSWORD}).status_code == 302
    save(admin, "bcc", always_bcc=archive)
    subject = unique("twice")
    send_inbound(mail_stack, person, subject)
    for address in (person, archive, local_copy):
        wait_for_subject(mail_stack, address, subject)


def test_helo_name_is_what_the_next_server_sees(admin, mail_stack):
    with relay_domain(admin) as (far, sink):
        began = time.monotonic()
        save(admin, "helo", helo_name="Relay-Out.Example.ORG")
        subject = unique("helo")
        send_inbound(mail_stack, f"partner@{far}", subject)
        assert wait_until(lambda: sink.with_subject(subject), 30)
        log.info("HELO: saved, sent and seen by the next server after %.2f s", time.monotonic() - began)
        assert sink.with_subject(subject)[0][0] == "relay-out.example.org"


def test_queue_lifetime_decides_when_undeliverable_mail_returns(admin, mail_stack, stack_db, domain):
    sender = new_address(stack_db, domain, "patient", spam_to_junk=False)
    name = f"{unique('down')}.test"
    assert admin.post("/admin/domains", {"name": name}).status_code == 302
    closed = free_ports(1)[0]  # nothing listens there: delivery is deferred
    assert admin.post(f"/admin/domains/{name}", {"mode": "relay", "relay": f"127.0.0.1:{closed}",
                                                  "bcc": "", "catch_all": ""}).status_code == 302
    rcpt, subject = f"someone@{name}", unique("lifetime")
    send_inbound(mail_stack, rcpt, subject, sender=sender)
    assert wait_until(lambda: (queued(mail_stack, rcpt) or {}).get("queue_name") == "deferred", 30)
    queue_id = queued(mail_stack, rcpt)["queue_id"]
    backdate(mail_stack, queue_id, 2 * 86400 + 600)  # two days in the queue, under the 4 allowed
    postfix_tool(mail_stack, "postqueue", "-i", queue_id)
    time.sleep(3)
    assert queued(mail_stack, rcpt)["arrival_time"] < time.time() - 2 * 86400  # still waiting

    began = time.monotonic()
    save(admin, "messages", message_size_mb=str(mail_stack["MESSAGE_SIZE_LIMIT_MB"]), queue_lifetime_days="1")
    postfix_tool(mail_stack, "postqueue", "-i", queue_id)
    returned = wait_for_subject(mail_stack, sender, "Undelivered Mail Returned to Sender", timeout=30)
    log.info("queue lifetime: saved and an expired message returned after %.2f s", time.monotonic() - began)
    assert subject.encode() in returned and queued(mail_stack, rcpt) is None


def test_bad_values_are_refused_next_to_their_field_and_change_nothing(admin, stack_db):
    response = admin.post("/admin/server/messages", {"message_size_mb": "5000", "queue_lifetime_days": "x"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="f-message_size_mb-error">Maximum message size: enter a whole number of MB from 1 to 50' in page
    assert 'id="f-queue_lifetime_days-error">Queue lifetime' in page and 'value="5000"' in page
    for section, fields, error in (
            ("helo", {"helo_name": "bad name;"}, "f-helo_name-error"),
            ("bcc", {"always_bcc": "not-an-address"}, "f-always_bcc-error"),
            ("access", {"relay_networks": "192.168.1.5/24"}, "did you mean 192.168.1.0/24?"),
            ("access", {"relay_networks": "0.0.0.0/0"}, "open relay"),
            ("access", {"relay_networks": "10.0.0.300"}, "not an IPv4 address or network")):
        response = admin.post(f"/admin/server/{section}", fields)
        assert response.status_code == 400 and error in response.get_data(as_text=True), fields
    with stack_db.factory() as session:
        assert session.get(ServerSettings, 1) is None or session.get(ServerSettings, 1).helo_name == ""
    assert admin.post("/admin/server/nowhere", {}).status_code == 404


def test_a_configuration_postfix_refuses_is_undone_with_postfixs_words(mail_stack, stack_db, cli):
    """A value out of Postfix's range in the database (a hand edit, an old backup) makes
    `postfix check` refuse: the change being saved is undone and Postfix's error shown."""
    assert cli("settings", "set", "helo-name", "before.example.org")[0] == 0
    with stack_db.transaction() as session:
        session.get(ServerSettings, 1).message_size_mb = 10 ** 14
    try:
        code, output = cli("settings", "set", "helo-name", "after.example.org")
        assert code != 0 and "bad numerical configuration: message_size_limit" in output, output
        with stack_db.factory() as session:
            assert session.get(ServerSettings, 1).helo_name == "before.example.org"
            assert session.query(AuditEntry).filter_by(
                kind="server", target="settings (undone: Postfix refused)").count() >= 1
    finally:
        with stack_db.transaction() as session:
            session.get(ServerSettings, 1).message_size_mb = 25


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def run(*args):
        result = runner.invoke(args=list(args))
        assert "Traceback" not in result.output
        return result.exit_code, (json.loads(result.output) if result.exit_code == 0 and "--json" in args
                                  else result.output)
    return run


def test_settings_command_shows_and_sets_with_json(cli, mail_stack):
    code, shown = cli("settings", "show", "--json")
    assert code == 0 and shown["queue-lifetime-days"] == 4 and shown["relay-trusted-networks"] is False
    code, done = cli("settings", "set", "queue-lifetime-days", "2", "--json")
    assert code == 0 and done["changed"] == {"queue-lifetime-days": 2} and done["live"] is True
    assert live_setting(mail_stack, "maximal_queue_lifetime") == "2d"
    assert live_setting(mail_stack, "bounce_queue_lifetime") == "2d"
    code, output = cli("settings", "set", "message-size-mb", "0", "--json")
    assert code != 0 and "from 1 to 50" in output
    assert cli("settings", "set", "auth-on-port-25", "maybe")[0] != 0
    assert cli("settings", "show")[1].count("\n") >= 6


def live_setting(cfg: dict, name: str) -> str:
    """A parameter of the running stack's main.cf as Postfix reads it."""
    etc = Path(cfg["STACK_DIR"]) / "etc" / "postfix"
    return subprocess.run(["postconf", "-c", str(etc), "-h", name], capture_output=True, text=True,
                          check=True, timeout=30).stdout.strip()
