"""The rule builder's Sieve (no daemons): writing, reading back, escaping, checking rules."""
from datetime import date

import pytest
from sievelib import commands
from sievelib.parser import Parser

from core.mail.sieve import rejection
from core.mail.sieve_rules import (
    Action, Condition, NotBuilderScript, Rule, RuleSet, Vacation, read, write,
)
from core.services.personal import filters
from core.services.personal.validation import InvalidField, one_line
from portal import wording
from portal.rule_form import rule_from_form
from werkzeug.datastructures import MultiDict

FOLDERS = ["INBOX", "Bills", "Lists", "Archive"]
ME = "me@example.test"

EVERY_KIND = RuleSet(
    rules=[
        Rule("Bills", [Condition("from", "contains", "shop"), Condition("from", "is", "a@shop.test"),
                       Condition("from", "matches", "*@shop.test")],
             [Action("read"), Action("flag"), Action("move", "Bills"), Action("stop")], "any"),
        Rule("Team", [Condition("to", "contains", "team"), Condition("to", "is", "team@x.test"),
                      Condition("to", "notcontains", "boss"), Condition("subject", "matches", "[?]*")],
             [Action("copy", "Archive"), Action("forward", "a@b.test", keep=True)]),
        Rule("Lists", [Condition("header", "contains", "lists.x.test", "List-Id"),
                       Condition("body", "notcontains", "unsubscribe"),
                       Condition("size", "over", "100K"), Condition("size", "under", "2M")],
             [Action("forward", "c@d.test")], enabled=False),
        Rule("Go away", [Condition("subject", "is", "buy now")], [Action("reject", "No.\nThanks")]),
        Rule("Bin", [Condition("body", "contains", "lottery")], [Action("delete")]),
    ],
    vacation=Vacation(True, "Away", "Back on Monday.\nRegards", 3, ["alias@example.test"],
                      date(2030, 1, 1), date(2030, 1, 31)),
)


def _commands(text):
    parser = Parser()
    assert parser.parse(text.encode()), parser.error
    found = []
    for top in parser.result:
        found += [type(node).__name__ for node in top.walk()]
    return found


def test_every_condition_and_action_reads_back_as_written():
    text = write(EVERY_KIND)
    back = read(text)
    assert back == EVERY_KIND
    assert write(back) == text


def test_script_requires_only_what_it_uses():
    text = write(RuleSet([Rule("x", [Condition("subject", "contains", "a")], [Action("stop")])]))
    assert "require" not in text
    text = write(RuleSet([Rule("x", [Condition("body", "contains", "a")], [Action("move", "B")])]))
    assert text.startswith('require ["fileinto", "body"];')


def test_switched_off_rule_is_kept_inside_if_false():
    text = write(RuleSet([Rule("x", [Condition("subject", "is", "a")], [Action("delete")], enabled=False)]))
    assert "if false {" in text
    assert read(text).rules[0].enabled is False


def test_actions_are_ordered_flags_first_stop_last():
    rule = Rule("x", [Condition("subject", "is", "a")],
                [Action("stop"), Action("move", "B"), Action("flag")]).normalised()
    assert [a.kind for a in rule.actions] == ["flag", "move", "stop"]


@pytest.mark.parametrize("evil", [
    'x"; redirect "evil@x.test"; #',
    'a\\" } redirect "evil@x.test"; if true { keep; #',
    "text:\nredirect \"evil@x.test\";\n.\n",
    "${1} \\\\ \" \\",
])
def test_values_cannot_inject_sieve(evil):
    ruleset = RuleSet([Rule("r", [Condition("subject", "contains", evil),
                                  Condition("header", "is", evil, "X-Test")],
                            [Action("reject", evil), Action("move", evil)])])
    text = write(ruleset)
    assert "RedirectCommand" not in _commands(text)
    assert read(text) == ruleset


def test_rule_names_cannot_inject_sieve():
    name = 'Bills\nredirect "evil@x.test";\r\n# Filter: fake'
    checked = filters.check_rule(Rule(name, [Condition("subject", "contains", "a")],
                                      [Action("move", "Bills")]), FOLDERS, ME)
    text = write(RuleSet([checked]))
    assert "RedirectCommand" not in _commands(text)
    assert [r.name for r in read(text).rules] == ['Bills redirect "evil@x.test"; # Filter: fake']


def test_foreign_script_is_not_read_as_rules():
    for text in ['require "fileinto";\nif header :contains "subject" "x" { fileinto "A"; }\n',
                 "# rule:[roundcube]\nif true { keep; }\n", "keep;\n", "if true {"]:
        with pytest.raises(NotBuilderScript):
            read(text)


def test_hand_edit_of_builder_script_is_noticed():
    text = write(EVERY_KIND)
    with pytest.raises(NotBuilderScript):
        read(text + "# my own note\n")
    with pytest.raises(NotBuilderScript):
        read(text.replace('"Bills";', '"Bills";\n    keep;'))
    assert read(text.replace("\n", "\r\n") + "\n\n") == EVERY_KIND  # line ends do not count


def test_check_rule_cleans_and_refuses():
    rule = filters.check_rule(Rule("  Bills\t\n2 ", [Condition("size", "over", "500k")],
                                   [Action("forward", " Other@Example.TEST ")]), FOLDERS, ME)
    assert rule.name == "Bills 2"
    assert rule.conditions[0].value == "500K"
    assert rule.actions[0].value == "other@example.test"
    bad = [
        (Rule("", [Condition("subject", "is", "a")], [Action("stop")]), "name"),
        (Rule("x", [Condition("subject", "over", "a")], [Action("stop")]), "cond-0-op"),
        (Rule("x", [Condition("size", "contains", "1")], [Action("stop")]), "cond-0-op"),
        (Rule("x", [Condition("size", "over", "lots")], [Action("stop")]), "cond-0-value"),
        (Rule("x", [Condition("header", "is", "a", "Bad:Name")], [Action("stop")]), "cond-0-header"),
        (Rule("x", [Condition("subject", "is", " ")], [Action("stop")]), "cond-0-value"),
        (Rule("x", [Condition("subject", "is", "a")], [Action("move", "Nowhere")]), "act-0-folder"),
        (Rule("x", [Condition("subject", "is", "a")], [Action("forward", "not an address")]), "act-0-address"),
        (Rule("x", [Condition("subject", "is", "a")], [Action("forward", ME.upper())]), "act-0-address"),
        (Rule("x", [Condition("subject", "is", "a")], [Action("delete"), Action("move", "Bills")]), "actions"),
        (Rule("x", [Condition("subject", "is", "a")], [Action("reject", "no"), Action("read")]), "actions"),
        (Rule("x", [Condition("subject", "is", "a")], [Action("reject", "")]), "act-0-text"),
    ]
    for rule, field in bad:
        with pytest.raises(InvalidField) as refused:
            filters.check_rule(rule, FOLDERS, ME)
        assert refused.value.field == field, (rule, refused.value)


def test_one_line_removes_line_breaks_and_format_characters():
    assert one_line("a\u2028b\u200bc\r\nd\x00e") == "a b c d e"


def test_rule_reads_as_a_sentence():
    rule = Rule("x", [Condition("from", "contains", "shop"), Condition("size", "over", "2M")],
                [Action("read"), Action("move", "Bills"), Action("stop")], "any")
    assert wording.rule_text(rule) == (
        "When the sender contains “shop” or the size is over 2 MB, "
        "mark it as read, move it to Bills and skip the rules below.")


def test_form_rows_become_a_rule_and_row_buttons_edit_it():
    form = MultiDict({"name": "n", "match": "any", "enabled": "on",
                      "cond-0-field": "size", "cond-0-op": "over", "cond-0-value": "5", "cond-0-unit": "M",
                      "cond-3-field": "header", "cond-3-header": "List-Id", "cond-3-op": "is", "cond-3-value": "v",
                      "act-0-kind": "forward", "act-0-address": "a@b.test", "act-0-keep": "1",
                      "act-1-kind": "reject", "act-1-text": "no"})
    rule = rule_from_form(form)
    assert rule.match == "any" and rule.enabled
    assert rule.conditions == [Condition("size", "over", "5M"), Condition("header", "is", "v", "List-Id")]
    assert rule.actions == [Action("forward", "a@b.test", True), Action("reject", "no")]
    form.add("remove-cond", "0")
    form.add("add-act", "1")
    edited = rule_from_form(form)
    assert [c.field for c in edited.conditions] == ["header"]
    assert len(edited.actions) == 3


def test_vacation_without_dates_uses_if_true():
    text = write(RuleSet(vacation=Vacation(True, "S", "M", 1)))
    assert "if true" in text and "currentdate" not in text
    assert read(text).vacation == Vacation(True, "S", "M", 1)


def test_written_script_parses_as_sieve_commands():
    names = _commands(write(EVERY_KIND))
    for expected in ("VacationCommand", "AddflagCommand", "FileintoCommand", "RedirectCommand",
                     "RejectCommand", "DiscardCommand", "StopCommand", "SizeCommand",
                     "BodyCommand", "AddressCommand", "HeaderCommand", "NotCommand"):
        assert expected in names
    assert hasattr(commands, "CurrentdateCommand")


def test_server_refusal_keeps_message_and_line():
    refused = rejection("line 4: error: unknown command 'frobnicate' (only reported once).\r\n"
                        "error: validation failed.")
    assert refused.line == 4 and refused.message.startswith("unknown command 'frobnicate'")
    assert rejection("Quota exceeded").line is None
