"""Filters through the web pages, stored over real ManageSieve, proved with real delivery.

Each rule is saved with the builder's form; each message goes through Postfix, Rspamd
and Dovecot's LMTP, and the test looks for it in the folder the rule names (or at the
forwarding address, or in the sender's mailbox for a refusal).
"""
import html
import re

import pytest

from app import create_app
from core.mail.sieve_rules import read
from tests.conftest import free_ports
from tests.helpers import new_address, signed_in_client, wait_for_subject
from tests.integration.portal_support import (
    create_folders, ensure_domain, flags_of, managesieve, post, rule_form, send, settle,
    signed_in_person, subjects, unique,
)

NEW = "/settings/filters/new"


@pytest.fixture
def person(app, stack_db, domain):
    """A fresh mailbox, signed in: (address, client)."""
    return signed_in_person(app, stack_db, domain, "filters")


def save_rule(client, data, expect=302):
    response = post(client, NEW, data)
    assert response.status_code == expect, response.get_data(as_text=True)[-2000:]
    return response


def textarea(page: str, name: str) -> str:
    """The text of textarea NAME in PAGE, unescaped."""
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    return html.unescape(found.group(1))


def stored(cfg, address, name="mailroom"):
    with managesieve(cfg, address) as store:
        return store.get(name)


def condition_rules(t: dict) -> list[tuple]:
    """One rule per condition kind (and all-of/any-of), each filing into its own folder."""
    return [
        ("From contains", [("from", "contains", "alpha-sender")], "C1", "all"),
        ("From is", [("from", "is", "exact@sender.test")], "C2", "all"),
        ("From matches", [("from", "matches", "*@matches.test")], "C3", "all"),
        ("To or Cc", [("to", "contains", "cc-marker")], "C4", "all"),
        ("All of, not", [("subject", "contains", t["all"]), ("subject", "notcontains", "skip")], "C5", "all"),
        ("Header", [("header", "matches", "*lists.example.test*", "List-Id")], "C6", "all"),
        ("Body", [("body", "contains", "bodymarker-xyz")], "C7", "all"),
        ("Big", [("size", "over", "20", "K"), ("subject", "contains", t["big"])], "C8", "all"),
        ("Small", [("size", "under", "5", "K"), ("subject", "contains", t["small"])], "C9", "all"),
        ("Any of", [("subject", "contains", t["anya"]), ("subject", "contains", t["anyb"])], "C10", "any"),
    ]


def test_every_condition_kind_files_real_mail(mail_stack, person):
    address, client = person
    create_folders(mail_stack, address, *(f"C{i}" for i in range(1, 11)))
    t = {k: unique(k) for k in ("all", "big", "small", "anya", "anyb")}
    for name, conditions, folder, match in condition_rules(t):
        save_rule(client, rule_form(name, conditions, [("move", folder)], match=match))
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 600  # ~34 KB
    mail = [
        (unique("m1"), {"sender": "Alpha <alpha-sender@outside.test>"}, "C1"),
        (unique("m2"), {"sender": "exact@sender.test"}, "C2"),
        (unique("m3"), {"sender": "someone@matches.test"}, "C3"),
        (unique("m4"), {"headers": {"Cc": "cc-marker@nowhere.test"}}, "C4"),
        (f"{t['all']} yes", {}, "C5"),
        (f"{t['all']} skip", {}, "INBOX"),
        (unique("m6"), {"headers": {"List-Id": "News <news.lists.example.test>"}}, "C6"),
        (unique("m7"), {"body": "Some text with bodymarker-xyz inside."}, "C7"),
        (f"{t['big']} large", {"body": filler}, "C8"),
        (f"{t['big']} short", {}, "INBOX"),
        (f"{t['small']} short", {}, "C9"),
        (f"{t['small']} large", {"body": filler}, "INBOX"),
        (f"{t['anyb']} second", {}, "C10"),
    ]
    for subject, options, _ in mail:
        send(mail_stack, address, subject, **options)
    for subject, _, folder in mail:
        wait_for_subject(mail_stack, address, subject, folder)
    for i in range(1, 11):  # each folder got exactly its one message
        assert len(subjects(mail_stack, address, f"C{i}")) == 1


def test_every_action_kind_with_real_mail(mail_stack, stack_db, domain, person):
    address, client = person
    other = ensure_domain(stack_db)
    sender = new_address(stack_db, domain, "sender")
    target = new_address(stack_db, other, "target")
    create_folders(mail_stack, address, "K1", "K2")
    t = {k: unique(k) for k in ("copy", "flags", "del", "rej", "fwdkeep", "fwd", "stop")}
    for name, token, actions in [
        ("Copy", t["copy"], [("copy", "K1")]),
        ("Flags", t["flags"], [("read",), ("flag",)]),
        ("Delete", t["del"], [("delete",)]),
        ("Refuse", t["rej"], [("reject", "Not wanted here, sorry.")]),
        ("Forward and keep", t["fwdkeep"], [("forward", target, True)]),
        ("Forward only", t["fwd"], [("forward", target, False)]),
        ("Flag and stop", t["stop"], [("flag",), ("stop",)]),
        ("After stop", t["stop"], [("move", "K2")]),
    ]:
        save_rule(client, rule_form(name, [("subject", "contains", token)], actions))
    for token in t.values():
        send(mail_stack, address, f"{token} message", sender=sender)
    wait_for_subject(mail_stack, address, f"{t['copy']} message", "K1")
    wait_for_subject(mail_stack, address, f"{t['copy']} message", "INBOX")
    wait_for_subject(mail_stack, target, f"{t['fwdkeep']} message")
    wait_for_subject(mail_stack, target, f"{t['fwd']} message")
    refusal = wait_for_subject(mail_stack, sender, "Rejected")  # Pigeonhole's refusal to the sender
    assert b"Not wanted here, sorry." in refusal
    settle(mail_stack, address)
    inbox = subjects(mail_stack, address)
    assert f"{t['fwdkeep']} message" in inbox and f"{t['fwd']} message" not in inbox
    assert f"{t['del']} message" not in inbox and f"{t['rej']} message" not in inbox
    assert {"\\Seen", "\\Flagged"} <= flags_of(mail_stack, address, f"{t['flags']} message")
    assert "\\Flagged" in flags_of(mail_stack, address, f"{t['stop']} message")
    assert subjects(mail_stack, address, "K2") == []  # `stop` kept the later rule from running


def test_order_and_switching_off_change_what_happens(mail_stack, person):
    address, client = person
    create_folders(mail_stack, address, "First", "Second")
    token = unique("order")
    save_rule(client, rule_form("One", [("subject", "contains", token)], [("move", "First"), ("stop",)]))
    save_rule(client, rule_form("Two", [("subject", "contains", token)], [("move", "Second"), ("stop",)]))
    send(mail_stack, address, f"{token} a")
    wait_for_subject(mail_stack, address, f"{token} a", "First")
    assert post(client, "/settings/filters", {"name": "Two"}, "/settings/filters/1/up").status_code == 302
    send(mail_stack, address, f"{token} b")
    wait_for_subject(mail_stack, address, f"{token} b", "Second")
    assert post(client, "/settings/filters", {"name": "Two"}, "/settings/filters/0/off").status_code == 302
    send(mail_stack, address, f"{token} c")
    wait_for_subject(mail_stack, address, f"{token} c", "First")
    page = client.get("/settings/filters").get_data(as_text=True)
    assert page.index("Two") < page.index("One") and "badge\">off" in page


def test_rule_names_and_values_cannot_inject_sieve(mail_stack, stack_db, person):
    address, client = person
    victim = new_address(stack_db, ensure_domain(stack_db), "victim")
    create_folders(mail_stack, address, "Injected")
    evil = f'redirect "{victim}";'
    name = f'Bills"; {evil}\n}} if true {{ {evil} #'
    value = f'a "b" \\ c }} d; {evil} {unique("inj")}'
    save_rule(client, rule_form(name, [("subject", "contains", value)], [("move", "Injected")]))
    script = stored(mail_stack, address)
    ruleset = read(script)
    assert len(ruleset.rules) == 1 and ruleset.rules[0].conditions[0].value == value
    assert all(a.kind == "move" for a in ruleset.rules[0].actions)
    assert not re.search(r"^\s*redirect", script, re.M)
    send(mail_stack, address, value)
    wait_for_subject(mail_stack, address, value.split()[-1], "Injected")
    send(mail_stack, address, "plain message with no quotes")
    settle(mail_stack, address)
    assert subjects(mail_stack, victim) == []


def test_raw_and_builder_round_trip_and_hand_edits_need_confirmation(mail_stack, person):
    address, client = person
    create_folders(mail_stack, address, "Bills")
    save_rule(client, rule_form("Bills", [("subject", "contains", "invoice")], [("move", "Bills")]))
    text = stored(mail_stack, address)
    raw_page = client.get("/settings/filters/raw?name=mailroom").get_data(as_text=True)
    assert textarea(raw_page, "text").strip() == text.strip()
    saved = post(client, "/settings/filters/raw?name=mailroom",
                 {"name": "mailroom", "text": text, "activate": "on"}, "/settings/filters/raw")
    assert saved.status_code == 302
    assert "When the subject contains “invoice”, move it to Bills." in client.get("/settings/filters").get_data(as_text=True)
    edited = text + "# my own note, kept\n"
    post(client, "/settings/filters/raw?name=mailroom", {"name": "mailroom", "text": edited,
                                                          "activate": "on"}, "/settings/filters/raw")
    assert "changed by hand" in client.get("/settings/filters").get_data(as_text=True)
    data = rule_form("Second", [("subject", "contains", "receipt")], [("move", "Bills")])
    refused = save_rule(client, data, expect=409)
    assert "edited by hand" in refused.get_data(as_text=True) and 'value="Second"' in refused.get_data(as_text=True)
    assert "my own note" in stored(mail_stack, address)
    save_rule(client, {**data, "confirm": "yes"})
    replaced = read(stored(mail_stack, address))
    assert [r.name for r in replaced.rules] == ["Second"]


def test_script_of_another_client_is_kept_listed_and_activatable(mail_stack, person):
    address, client = person
    create_folders(mail_stack, address, "TB", "Mine")
    foreign = 'require ["fileinto"];\r\nif header :contains "subject" "tb-token" { fileinto "TB"; }'
    with managesieve(mail_stack, address) as store:
        store.put("thunderbird", foreign)
        store.activate("thunderbird")
    page = client.get("/settings/filters").get_data(as_text=True)
    assert "“thunderbird”, written by another program" in page
    data = rule_form("Mine", [("subject", "contains", "mine-token")], [("move", "Mine")])
    refused = save_rule(client, data, expect=409)
    assert "will be switched off (not deleted)" in refused.get_data(as_text=True)
    with managesieve(mail_stack, address) as store:
        assert store.listing().active == "thunderbird"
        assert store.listing().names == ["thunderbird"]
    send(mail_stack, address, "tb-token one")
    wait_for_subject(mail_stack, address, "tb-token one", "TB")
    save_rule(client, {**data, "confirm": "yes"})
    with managesieve(mail_stack, address) as store:
        assert store.listing().active == "mailroom"
        assert store.get("thunderbird").replace("\r\n", "\n") == foreign.replace("\r\n", "\n")
    send(mail_stack, address, "mine-token one")
    wait_for_subject(mail_stack, address, "mine-token one", "Mine")
    assert post(client, "/settings/filters", {"name": "thunderbird"},
                "/settings/filters/scripts/activate").status_code == 302
    send(mail_stack, address, "tb-token two")
    wait_for_subject(mail_stack, address, "tb-token two", "TB")


def test_invalid_raw_script_is_refused_with_line_and_kept(mail_stack, person):
    address, client = person
    save_rule(client, rule_form("Keep", [("subject", "contains", "x")], [("flag",)]))
    before = stored(mail_stack, address)
    bad = 'require "fileinto";\n\nif header :contains "subject" "x" {\n    frobnicate "Bills";\n}\n'
    response = post(client, "/settings/filters/raw?name=mailroom",
                     {"name": "mailroom", "text": bad, "activate": "on"}, "/settings/filters/raw")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Line 4" in body and "frobnicate" in body
    assert textarea(body, "text") == bad
    assert stored(mail_stack, address) == before


def test_managesieve_down_gives_a_clear_page_and_loses_nothing(mail_stack, person):
    address, client = person
    save_rule(client, rule_form("Existing", [("subject", "contains", "x")], [("flag",)]))
    before = stored(mail_stack, address)
    broken = create_app({**mail_stack, "ENV": "testing", "SIEVE_PORT": free_ports(1)[0]})
    other = signed_in_client(broken, address)
    page = other.get("/settings/filters")
    assert page.status_code == 503 and "ManageSieve server (Dovecot)" in page.get_data(as_text=True)
    response = post(other, NEW, rule_form("Typed rule", [("subject", "contains", "kept-value")],
                                          [("flag",)]))
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "ManageSieve server (Dovecot) does not answer" in body
    assert 'value="Typed rule"' in body and 'value="kept-value"' in body
    assert stored(mail_stack, address) == before
