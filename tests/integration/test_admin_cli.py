"""`flask --app app domain|mailbox|group|shared|alias ...` against the real stack."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from core.mail.errors import AuthenticationFailed
from core.models import AuditEntry
from tests.helpers import PASSWORD, imap_login, new_address, wait_for_subject
from tests.integration.admin_support import rcpt, send_inbound, unique

pytestmark = pytest.mark.directory  # run again on PostgreSQL (stack/test.sh)


@pytest.fixture
def cli(app):
    """Run a command; return (exit code, output), parsing --json output."""
    runner = app.test_cli_runner()

    def run(*args, stdin=None):
        result = runner.invoke(args=list(args), input=stdin)
        assert "Traceback" not in result.output
        output = result.output
        if result.exit_code == 0 and "--json" in args:
            output = json.loads(output)
        return result.exit_code, output
    return run


def test_domain_mailbox_group_shared_alias_round_trip(cli, mail_stack, stack_db, domain):
    name = f"{unique('cli')}.test"
    code, data = cli("domain", "add", name, "--json")
    assert code == 0 and data["domain"] == name and data["mode"] == "deliver"
    person = f"pat@{name}"
    code, data = cli("mailbox", "add", person, "--password-stdin", "--name", "Pat", "--json",
                     stdin=PASSWORD + "\n")
    assert code == 0 and data == {**data, "address": person, "enabled": True}
    assert PASSWORD not in json.dumps(data)
    group = unique("crew")
    assert cli("group", "add", group, "--json")[0] == 0
    assert cli("group", "member", "add", group, person, "--json")[1]["members"] == [person]
    desk = f"desk@{name}"
    code, data = cli("shared", "add", desk, "--owner", group, "--name", "Desk", "--json")
    assert code == 0 and data["owners"] == [group]
    alias = f"hello@{name}"
    code, data = cli("alias", "add", alias, desk, "outside@elsewhere.test", "--local-only", "--json")
    assert code == 0 and data["kinds"] == ["shared", "external"] and data["local_only"] is True
    assert {r["alias"] for r in cli("alias", "list", "--domain", name, "--json")[1]} == {alias}
    assert [r["address"] for r in cli("shared", "list", "--json")[1] if r["address"] == desk]

    subject = unique("cli-shared")
    send_inbound(mail_stack, alias, subject)  # from 127.0.0.1: inside mynetworks
    wait_for_subject(mail_stack, person, subject, folder=f"shared/{desk}")
    assert rcpt(mail_stack, alias)[0] == 554  # from outside: local network only

    code, data = cli("domain", "set", name, "--bcc", person, "--catch-all", person, "--json")
    assert code == 0 and data["bcc"] == person and data["catch_all"] == person
    assert cli("domain", "set", name, "--relay", "127.0.0.1:2525", "--json")[1]["relay"] == "127.0.0.1:2525"
    assert cli("domain", "set", name, "--local", "--json")[1]["mode"] == "deliver"

    assert cli("group", "remove", group)[0] != 0  # owns the shared mailbox
    assert cli("shared", "remove", desk, "--json")[1]["mail"] == "archive"
    assert cli("group", "remove", group, "--json")[0] == 0
    assert cli("alias", "remove", alias, "--json")[1] == {"removed": alias}
    with stack_db.transaction() as session:
        actors = {e.actor for e in session.query(AuditEntry).filter(AuditEntry.target.in_([alias, desk]))}
    assert actors and all(a.startswith("cli") for a in actors)


def test_mailbox_set_disables_login_and_changes_quota(cli, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "clip")
    code, data = cli("mailbox", "set", address, "--disable", "--quota", "200M", "--junk-days", "7",
                     "--json")
    assert code == 0 and (data["enabled"], data["quota_mb"], data["junk_days"]) == (False, 200, 7)
    with pytest.raises(AuthenticationFailed):
        imap_login(mail_stack, address)
    assert cli("mailbox", "set", address, "--enable", "--quota", "default", "--json")[1]["quota_mb"] is None
    client = imap_login(mail_stack, address)
    try:
        _roots, quotas = client.get_quota_root("INBOX")
    finally:
        client.logout()
    assert quotas[0].limit == mail_stack["DEFAULT_QUOTA_MB"] * 1024
    new_password = "another long passphrase"
    assert cli("mailbox", "set", address, "--password-stdin", stdin=new_password + "\n")[0] == 0
    imap_login(mail_stack, address, new_password).logout()


def test_bad_input_exits_non_zero_with_what_to_fix(cli, domain):
    cases = [
        (("domain", "add", domain), "exists already"),
        (("domain", "add", "no spaces allowed"), "example.org"),
        (("alias", "add", "x@nowhere.invalid", "a@b.test"), "no domain"),
        (("mailbox", "add", f"short@{domain}", "--password-stdin"), "At least 10 characters"),
        (("mailbox", "add", f"both@{domain}", "--password-stdin", "--link"), "exactly one"),
        (("group", "add", "Two Words"), "cannot be a group name"),
        (("shared", "add", f"box@{domain}", "--owner", "no-such-group"), "create it first"),
        (("domain", "set", domain, "--relay", "host:99999"), "1 to 65535"),
    ]
    for args, message in cases:
        code, output = cli(*args, stdin="short\n")
        assert code != 0 and message in output, (args, output)


def test_removing_a_mailbox_with_erase_queues_the_job(cli, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "cligone")
    subject = unique("gone")
    send_inbound(mail_stack, address, subject)
    wait_for_subject(mail_stack, address, subject)
    code, data = cli("mailbox", "remove", address, "--erase-mail", "--json")
    assert code == 0 and data["job"] and data["mail"] == "erase"
    assert rcpt(mail_stack, address, "127.0.0.1")[0] == 550


def test_demo_prints_its_logins_and_where_they_are_kept(cli, mail_stack):
    import os
    import stat
    from pathlib import Path

    code, data = cli("demo", "--json")
    where = Path(mail_stack["DATA_DIR"]) / "secrets" / "demo-logins.json"
    assert code == 0 and data["file"] == str(where)
    assert {login["role"] for login in data["logins"]} >= {"admin"}
    assert stat.S_IMODE(os.stat(where).st_mode) == 0o600
    code, text = cli("demo")
    assert f"(kept in {where})" in text
    imap_login(mail_stack, data["logins"][0]["address"], data["logins"][0]["password"]).logout()


def test_alias_to_a_missing_address_on_a_local_domain_is_refused_naming_it(cli, domain):
    alias, missing = f"{unique('team')}@{domain}", f"{unique('nobody')}@{domain}"
    code, output = cli("alias", "add", alias, missing, "--json")
    assert code != 0 and f"{missing} does not exist here" in output
    assert alias not in [r["alias"] for r in cli("alias", "list", "--json")[1]]


def test_relay_without_a_port_is_port_25_as_the_help_says(cli):
    name = f"{unique('relay')}.test"
    assert cli("domain", "add", name)[0] == 0
    code, help_text = cli("domain", "set", "--help")
    assert code == 0 and "HOST[:PORT]" in help_text
    assert "port defaults to 25" in " ".join(help_text.split())
    code, data = cli("domain", "set", name, "--relay", "mail.example.org", "--json")
    assert code == 0 and data["relay"] == "mail.example.org:25"


def test_db_upgrade_prints_json_with_the_schema_revision(cli, stack_db):
    code, data = cli("db", "upgrade", "--json")
    with stack_db.transaction() as session:
        revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert code == 0 and data == {"revision": revision}
