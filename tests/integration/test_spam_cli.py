"""`flask --app app spam set|rule …`: the spam filter's settings and rules from the command line,
obeyed by the running Rspamd (its /actions, and real SMTP from an outside address)."""
from __future__ import annotations

import smtplib

import pytest

from core.mail import rspamd
from core.models import AuditEntry, SpamRule
from core.models.spam import FilterSettings, filter_settings
from tests.helpers import command_runner, new_address, wait_for_subject

from .spam_support import restore_filter_defaults, settings, smtp_in
from .test_spam_filter import plain, subject


@pytest.fixture
def spam(app, mail_stack, stack_db):
    """`flask --app app spam …`; the filter's defaults and no rules again afterwards."""
    yield command_runner(app, "spam")
    restore_filter_defaults(mail_stack, stack_db)


def stored(stack_db) -> FilterSettings:
    with stack_db.transaction() as session:
        return filter_settings(session)


def test_spam_set_changes_rspamds_thresholds_and_refuses_bad_values(spam, mail_stack, stack_db):
    code, out = spam("set", "spam", "5.5", "--json")
    assert code == 0 and out["live"] and out["settings"]["spam"] == 5.5, out
    assert rspamd.actions(settings(mail_stack))["add header"] == 5.5

    code, out = spam("set", "subject-prefix", "[SPAM]", "--json")
    assert code == 0 and out["settings"]["subject_prefix"] == "[SPAM]"
    actions = rspamd.actions(settings(mail_stack))
    assert actions["rewrite subject"] == 5.5 and actions.get("add header") is None, actions

    code, out = spam("set", "greylist", "off")
    assert code == 0 and "next message" in out
    assert stored(stack_db).greylist is None and rspamd.actions(settings(mail_stack)).get("greylist") is None

    before = stored(stack_db)
    code, out = spam("set", "reject", "3")
    assert code != 0 and "must be below the reject threshold" in out, out
    code, out = spam("set", "spam", "lots")
    assert code != 0 and "Spam: enter a score such as 6 or 7.5" in out, out
    assert stored(stack_db) == before
    with stack_db.transaction() as session:
        assert session.query(AuditEntry).filter(AuditEntry.actor.like("cli:%"),
                                                AuditEntry.target == "thresholds").count() >= 3


def test_spam_rules_block_a_sender_until_removed(spam, mail_stack, stack_db, domain):
    rcpt = new_address(stack_db, domain, "clirules")
    code, out = spam("rule", "add", "block", "@Blocked-CLI.Example", "--json")
    assert code == 0 and out["live"] and out["kind"] == "block_from" and out["value"] == "blocked-cli.example"
    rule_id = out["id"]
    with pytest.raises(smtplib.SMTPDataError) as refused:
        smtp_in(mail_stack, "x@blocked-cli.example", rcpt, plain("x@blocked-cli.example", rcpt, "hi"))
    assert refused.value.smtp_code == 554

    code, out = spam("rule", "add", "allow", "friend@blocked-cli.example", "--json")
    assert code == 0 and out["kind"] == "allow_from"
    code, rows = spam("rule", "list", "--json")
    assert {(r["id"], r["kind"]) for r in rows} >= {(rule_id, "block_from"), (out["id"], "allow_from")}
    code, text = spam("rule", "list")
    assert "Block From  blocked-cli.example" in text

    code, out = spam("rule", "add", "block", "not an address")
    assert code != 0 and "is neither a mail address nor a domain name" in out
    code, out = spam("rule", "add", "block", "blocked-cli.example")
    assert code != 0 and "on the Block From list already" in out

    code, out = spam("rule", "remove", str(rule_id), "--json")
    assert code == 0 and out["value"] == "blocked-cli.example"
    code, out = spam("rule", "remove", str(rule_id))
    assert code != 0 and "does not exist" in out
    with stack_db.transaction() as session:
        assert session.query(SpamRule).filter_by(kind="block_from").count() == 0
    arrived = subject("UNBLOCKED CLI")
    smtp_in(mail_stack, "x@blocked-cli.example", rcpt, plain("x@blocked-cli.example", rcpt, arrived))
    wait_for_subject(mail_stack, rcpt, arrived)
