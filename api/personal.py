"""API: the token owner's own settings (vacation, forwarding, Junk, filters), through the
services the portal's pages use (portal/personal.py, portal/filters.py).

ManageSieve is reached with the token's own credential (core/services/access/api_tokens.py),
never the person's password, which the API never sees.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict
from typing import Iterator

from flask import abort, current_app, jsonify, request
from flask_login import current_user

from core.extensions import db
from core.i18n import N_
from core.mail import folders, imap, sieve
from core.mail.sieve_rules import Action, Condition, Rule, Vacation
from core.services.personal import filters, forwarding, junk, vacation
from portal.wording import rule_text

from .answers import flag, objects, payload, saved, strings, text
from .directory import BOOLEAN, INTEGER, NUMBER_OR_NULL, STRING
from .registry import operation, schema

WHO = N_("the token's owner, for their own mailbox")
VACATION_FIELDS = {"enabled": BOOLEAN, "subject": STRING, "message": STRING,
                   "days": {"type": "integer", "description": "one reply per sender per this many days"},
                   "start": {"type": "string", "format": "date"},
                   "end": {"type": "string", "format": "date"},
                   "addresses": {"type": "array", "items": STRING,
                                 "description": "your addresses it answers for ([] for all)"},
                   "confirm": {"type": "boolean",
                               "description": "replace hand edits or switch off another script"}}


@contextmanager
def sieve_store() -> Iterator[sieve.SieveStore]:
    """A ManageSieve session as the token's owner, with the token's credential."""
    settings = sieve.SieveSettings.from_config(current_app.config)
    with sieve.session(settings, current_user.address, current_user.mail_password()) as store:
        yield store


VACATION = schema("Vacation", {name: VACATION_FIELDS[name] for name in VACATION_FIELDS if name != "confirm"})
schema("VacationState", {**VACATION, "hand_edited": BOOLEAN, "allowed_addresses": VACATION_FIELDS["addresses"]})


def vacation_json(reply: Vacation) -> dict:
    """A vacation reply as the API shows it."""
    return {"enabled": reply.enabled, "subject": reply.subject, "message": reply.message,
            "days": reply.days, "addresses": reply.addresses,
            "start": reply.start.isoformat() if reply.start else "",
            "end": reply.end.isoformat() if reply.end else ""}


@operation("GET", "/personal/vacation", "personal", N_("Your vacation reply"), who=WHO,
           answer="VacationState")
def vacation_get():
    with sieve_store() as store:
        state = filters.load(store)
    return jsonify({**vacation_json(vacation.current(state)), "hand_edited": state.ruleset is None,
                    "allowed_addresses": vacation.own_addresses(db.session, current_user.address)})


@operation("PUT", "/personal/vacation", "personal",
           N_("Set your vacation reply (Pigeonhole's vacation, in your filter script)"),
           body=VACATION_FIELDS, required=("enabled", "subject"), who=WHO, answer="Vacation")
def vacation_set():
    body = payload()
    form = {"enabled": flag(body, "enabled", False), "addresses": strings(body, "addresses"),
            **{name: text(body, name) for name in ("subject", "message", "days", "start", "end")}}
    reply = vacation.check(form, vacation.own_addresses(db.session, current_user.address))
    with sieve_store() as store:
        vacation.save(store, filters.load(store), reply, confirmed=flag(body, "confirm", False))
    return jsonify(vacation_json(reply))


schema("Forwarding", {"target": STRING, "keep_copy": BOOLEAN})


def forwarding_json(found: forwarding.Forwarding) -> dict:
    """Forwarding as the API shows it ('' when off)."""
    return {"target": found.target or "", "keep_copy": found.keep_copy}


@operation("GET", "/personal/forwarding", "personal", N_("Where all your mail is forwarded"), who=WHO,
           answer="Forwarding")
def forwarding_get():
    return jsonify(forwarding_json(forwarding.get_forwarding(db.session, current_user.address, current_app.config)))


@operation("PUT", "/personal/forwarding", "personal", N_("Forward all your mail ('' stops it)"),
           body={"target": STRING, "keep_copy": BOOLEAN}, required=("target",), who=WHO,
           answer="Forwarding")
def forwarding_set():
    body = payload()
    target, keep = text(body, "target").strip(), flag(body, "keep_copy", True)
    return saved(lambda: forwarding.set_forwarding(db.session, current_user.address, target or None,
                                                   keep, current_app.config), forwarding_json)


schema("Junk", {"spam_to_junk": BOOLEAN, "days": NUMBER_OR_NULL, "server_days": INTEGER})


def junk_json(found: junk.JunkSettings) -> dict:
    """Spam handling: days None follows the server's default, 0 keeps Junk."""
    return {"spam_to_junk": found.spam_to_junk, "days": found.days, "server_days": found.server_days}


@operation("GET", "/personal/junk", "personal", N_("Your spam handling and Junk retention"), who=WHO,
           answer="Junk")
def junk_get():
    return jsonify(junk_json(junk.get_junk(db.session, current_user.address, current_app.config)))


@operation("PUT", "/personal/junk", "personal",
           N_("Move spam to Junk or not; days Junk keeps mail (null: the server's default, 0: keep)"),
           body={"spam_to_junk": BOOLEAN, "days": {"type": ["integer", "string", "null"]}},
           required=("spam_to_junk",), who=WHO, answer="Junk")
def junk_set():
    body = payload()
    days = None if body.get("days") is None else text(body, "days")
    spam_to_junk = flag(body, "spam_to_junk", True)
    return saved(lambda: junk.set_junk(db.session, current_user.address, spam_to_junk, days,
                                       current_app.config), junk_json)


RULE_FIELDS = {
    "name": STRING, "match": {"type": "string", "enum": ["all", "any"]}, "enabled": BOOLEAN,
    "conditions": {"type": "array", "items": {"type": "object", "properties": {
        "field": STRING, "op": STRING, "value": STRING, "header": STRING}}},
    "actions": {"type": "array", "items": {"type": "object", "properties": {
        "kind": STRING, "value": STRING, "keep": BOOLEAN}}},
    "confirm": VACATION_FIELDS["confirm"]}
schema("Filters", {"scripts": {"type": "array", "items": STRING}, "active": STRING,
                   "hand_edited": BOOLEAN, "problem": STRING,
                   "rules": {"type": "array", "items": {"type": "object", "properties": {
                       "index": INTEGER, "text": STRING,
                       **{name: RULE_FIELDS[name] for name in RULE_FIELDS if name != "confirm"}}}}})


def _filters_json(state: filters.Filters) -> dict:
    rules = state.ruleset.rules if state.ruleset is not None else []
    return {"scripts": state.listing.names, "active": state.listing.active or "",
            "hand_edited": state.ruleset is None and state.exists, "problem": state.problem,
            "rules": [{"index": i, "text": rule_text(rule), **asdict(rule)}
                      for i, rule in enumerate(rules)]}


@operation("GET", "/personal/filters", "personal",
           N_("Your filter rules (as the rule builder shows them) and your Sieve scripts"), who=WHO,
           answer="Filters")
def filters_get():
    with sieve_store() as store:
        return jsonify(_filters_json(filters.load(store)))


def _rule(body: dict) -> Rule:
    """The rule in BODY, as the builder's form gives it (checked by the service)."""
    conditions = [Condition(text(c, "field"), text(c, "op"), text(c, "value"), text(c, "header"))
                  for c in objects(body, "conditions")]
    actions = [Action(text(a, "kind"), text(a, "value"), flag(a, "keep", False))
               for a in objects(body, "actions")]
    return Rule(text(body, "name"), conditions, actions, text(body, "match", "all"),
                flag(body, "enabled", True))


def _own_folders(rule: Rule) -> list[str]:
    """The owner's own folders a rule may move or copy to, over IMAP with the token's
    credential (not asked when the rule files nothing)."""
    if not any(action.kind in ("move", "copy") for action in rule.actions):
        return []
    client = imap.login(imap.ImapSettings.from_config(current_app.config), current_user.address,
                        current_user.mail_password(), request.remote_addr)
    try:
        tree = folders.list_folders(client, counts=False)
    finally:
        imap.close(client)
    return [f.name for f in tree if f.selectable and not f.shared]


def _put_rule(index: int | None, original: str = "", status: int = 200):
    body = payload()
    rule = _rule(body)
    checked = filters.check_rule(rule, _own_folders(rule), current_user.address)
    with sieve_store() as store:
        filters.put_rule(store, filters.load(store), checked, index, original,
                         confirmed=flag(body, "confirm", False))
        return jsonify(_filters_json(filters.load(store))), status


@operation("POST", "/personal/filters/rules", "personal",
           N_("Add a rule at the end (the rule builder's fields; the same checks)"),
           body=RULE_FIELDS, required=("name", "conditions", "actions"), who=WHO, answer="Filters")
def filter_rule_add():
    return _put_rule(None, status=201)


@operation("PUT", "/personal/filters/rules/<int:index>", "personal",
           N_("Replace rule INDEX; ?name= must still be its name"), body=RULE_FIELDS,
           required=("name", "conditions", "actions"), query=("name",), who=WHO,
           answer="Filters")
def filter_rule_replace(index: int):
    return _put_rule(index, request.args.get("name", ""))


@operation("PATCH", "/personal/filters/rules/<int:index>", "personal",
           N_("Switch rule INDEX on or off; name must still be its name"), body={"name": STRING,
           "enabled": BOOLEAN}, required=("name", "enabled"), who=WHO, answer="Filters")
def filter_rule_switch(index: int):
    body = payload()
    with sieve_store() as store:
        filters.set_enabled(store, filters.load(store), index, text(body, "name"),
                            flag(body, "enabled", True))
        return jsonify(_filters_json(filters.load(store)))


@operation("DELETE", "/personal/filters/rules/<int:index>", "personal",
           N_("Delete rule INDEX; ?name= must still be its name"), query=("name",), who=WHO)
def filter_rule_delete(index: int):
    with sieve_store() as store:
        filters.delete_rule(store, filters.load(store), index, request.args.get("name", ""))
    return "", 204


@operation("PUT", "/personal/filters/scripts/<script>", "personal",
           N_("Store a Sieve script (the server checks it first), and make it active"),
           body={"text": STRING, "activate": BOOLEAN}, required=("text",), who=WHO,
           answer="Filters")
def filter_script_put(script: str):
    body = payload()
    with sieve_store() as store:
        filters.save_raw(store, script, text(body, "text"), flag(body, "activate", False))
        return jsonify(_filters_json(filters.load(store)))


@operation("POST", "/personal/filters/rules/<int:index>/move", "personal",
           N_("Move rule INDEX one place up or down (the order rules are tried in); name must still be "
              "its name"), body={"name": STRING, "direction": {"type": "string", "enum": ["up", "down"]}},
           required=("name", "direction"), who=WHO, answer="Filters")
def filter_rule_move(index: int):
    body = payload()
    steps = {"up": -1, "down": 1}
    if text(body, "direction") not in steps:
        abort(400, description="direction must be up or down.")
    with sieve_store() as store:
        filters.move_rule(store, filters.load(store), index, text(body, "name"), steps[text(body, "direction")])
        return jsonify(_filters_json(filters.load(store)))


@operation("PUT", "/personal/filters/active", "personal",
           N_("Make a script the active one (only one runs); script '' switches filtering off"),
           body={"script": STRING}, required=("script",), who=WHO, answer="Filters")
def filter_script_activate():
    name = text(payload(), "script")
    with sieve_store() as store:
        if name:
            filters.activate(store, name)
        else:
            filters.deactivate(store)
        return jsonify(_filters_json(filters.load(store)))


@operation("DELETE", "/personal/filters/scripts/<script>", "personal",
           N_("Delete a Sieve script that is not the active one"), who=WHO)
def filter_script_delete(script: str):
    with sieve_store() as store:
        filters.delete_script(store, script)
    return "", 204
