"""Portal services on a real (migrated) database, and sieve-test report reading; no daemons."""
from datetime import date

import pytest

from core.mail.sieve_rules import Action, Condition, Rule, RuleSet, Vacation, write
from core.services.directory import aliases, lookup
from core.services.personal import forwarding, junk, vacation
from core.services.directory.lookup import SYSTEM_ACTOR
from core.services.personal.dryrun import _report
from core.services.personal.validation import InvalidField
from stack.sieve import _failure, _parse

PASSWORD = "unit-test-pass-1"


@pytest.fixture
def people(session):
    lookup.add_domain(session, "example.test")
    lookup.add_domain(session, "other.test")
    for address in ("ann@example.test", "ben@example.test", "cat@other.test"):
        lookup.add_mailbox(session, address, PASSWORD)
    aliases.create_alias(session, SYSTEM_ACTOR, "team@example.test", ["ann@example.test", "ben@example.test"])
    session.commit()
    return session


def test_forwarding_sets_the_columns_the_userdb_reads(people):
    result = forwarding.set_forwarding(people, "ann@example.test", " Cat@Other.TEST ", False)
    assert result == forwarding.Forwarding("cat@other.test", False)
    box = lookup.get_mailbox(people, "ann@example.test")
    assert (box.forward_address, box.forward_keep_copy) == ("cat@other.test", False)
    assert forwarding.set_forwarding(people, "ann@example.test", "", False).target is None
    assert lookup.get_mailbox(people, "ann@example.test").forward_address is None


@pytest.mark.parametrize("target, reason", [
    ("not-an-address", "not an e-mail address"),
    ("ann@example.test", "your own address"),
    ("team@example.test", "delivers to you"),
])
def test_forwarding_refuses_bad_targets_and_loops(people, target, reason):
    with pytest.raises(InvalidField) as refused:
        forwarding.set_forwarding(people, "ann@example.test", target, True)
    assert reason in str(refused.value) and refused.value.field == "target"


def test_forwarding_refuses_a_chain_back_to_oneself(people):
    forwarding.set_forwarding(people, "cat@other.test", "ben@example.test", True)
    forwarding.set_forwarding(people, "ben@example.test", "ann@example.test", True)
    with pytest.raises(InvalidField, match="loop"):
        forwarding.set_forwarding(people, "ann@example.test", "cat@other.test", True)


def test_junk_settings_default_override_and_never(people):
    assert junk.server_days(people) == 30  # written by migration 0003
    settings = junk.get_junk(people, "ann@example.test")
    assert settings.spam_to_junk and settings.days is None and settings.effective_days == 30
    assert junk.set_junk(people, "ann@example.test", False, "7").effective_days == 7
    assert junk.set_junk(people, "ann@example.test", True, 0).effective_days == 0
    junk.set_server_days(people, 14)
    assert junk.set_junk(people, "ann@example.test", True, "").effective_days == 14
    with pytest.raises(InvalidField):
        junk.set_junk(people, "ann@example.test", True, "-1")


def test_vacation_addresses_are_own_address_and_aliases(people):
    assert vacation.own_addresses(people, "ann@example.test") == ["ann@example.test", "team@example.test"]


def test_vacation_form_is_checked():
    allowed = ["ann@example.test", "team@example.test"]
    form = {"enabled": "on", "subject": "Away", "message": "Back soon", "days": "3",
            "start": "2030-01-01", "end": "2030-01-05", "addresses": ["team@example.test"]}
    reply = vacation.check(form, allowed)
    assert reply == Vacation(True, "Away", "Back soon", 3, ["team@example.test"],
                             date(2030, 1, 1), date(2030, 1, 5))
    too_long = "x" * (vacation.MESSAGE_LIMIT + 1)
    for change, field, words in [({"message": too_long}, "message", "limit is 8,192 bytes"),
                                 ({"days": "0"}, "days", "between 1 and 90"),
                                 ({"end": "2029-12-31"}, "end", "before the first day"),
                                 ({"start": "1.1.2030"}, "start", "YYYY-MM-DD"),
                                 ({"addresses": ["boss@example.test"]}, "addresses", "not one of"),
                                 ({"subject": ""}, "subject", "needs a subject")]:
        with pytest.raises(InvalidField) as refused:
            vacation.check({**form, **change}, allowed)
        assert refused.value.field == field and words in str(refused.value)


REPORT = """
## Executing script: /stack/sieve/before.d/10-mailroom-junk.sieve

Performed actions:

  (none)

Implicit keep:

 * store message in folder: INBOX

## Executing script: /tmp/x/mailroom.sieve

Performed actions:

 * send vacation message:
    => seconds : 604800

START MESSAGE
I am away
END MESSAGE
 * store message in folder: Bills
        + add IMAP flags: \\seen

Implicit keep:

  (none)

"""
TRACE = """
      ## Started executing script '10-mailroom-junk'
   7: environment test
      ## Finished executing script '10-mailroom-junk'
      ## Started executing script 'mailroom'
   4: vacation action
   9: addflag command
  10: fileinto action
  11: stop command; end all script execution
      ## Finished executing script 'mailroom'
"""


def test_sieve_test_report_is_read_script_by_script():
    text = write(RuleSet(
        rules=[Rule("Bills", [Condition("subject", "contains", "bill")],
                    [Action("read"), Action("move", "Bills"), Action("stop")]),
               Rule("Later", [Condition("subject", "contains", "x")], [Action("delete")]),
               Rule("Off", [Condition("subject", "contains", "y")], [Action("delete")], enabled=False)],
        vacation=Vacation(True, "Away", "I am away", 7)))
    run = _parse(REPORT + TRACE)  # sieve-test prints the trace on stdout with the report
    assert [s.name for s in run.scripts] == ["10-mailroom-junk", "mailroom"]
    assert run.script("mailroom").actions == ["send vacation message",
                                              "store message in folder: Bills (add IMAP flags: \\seen)"]
    assert run.implicit_keep == []
    report = _report("mailroom", text, run)
    assert [(r.name, r.state) for r in report.rules] == [
        ("Vacation reply", "matched"), ("Bills", "matched"), ("Later", "not reached"), ("Off", "off")]
    assert report.before == [("Spam to Junk (Spam & Junk settings)", [])]


def test_sieve_test_errors_name_the_line():
    failure = _failure("mailroom: line 3: error: unknown command 'foo' (only reported once).\n"
                       "mailroom: error: validation failed.\nsieve-test: Fatal: failed to compile")
    assert failure.line == 3 and "unknown command 'foo'" in str(failure)
