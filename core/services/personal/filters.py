"""Sieve filters: the rule builder's script, scripts other programs wrote, and the raw editor.

The builder owns one ManageSieve script, SCRIPT. It never replaces a script it cannot
read back, nor switches off a script another program made active, unless the person
confirmed it (NeedsConfirmation says what would happen).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from core.i18n import lazy_gettext as _l
from core.mail.sieve import Listing, SieveStore
from core.mail.sieve_rules import (
    ACTIONS, FIELDS, FLAGS, SIZE_OPS, TEXT_OPS, Action, Condition, NotBuilderScript, Rule,
    RuleSet, read, write,
)
from core.services.errors import InvalidInput, ServiceError

from .validation import InvalidField, address, one_line, plain_text

SCRIPT = "mailroom"
NAME_MAX = 100
VALUE_MAX = 1000
MAX_ROWS = 20
SCRIPT_NAME = re.compile(r"^[^\x00-\x1f\x7f/]{1,64}$")
HEADER_NAME = re.compile(r"^[\x21-\x39\x3b-\x7e]{1,76}$")  # RFC 5322 field-name
SIZE = re.compile(r"^[0-9]{1,9}[KMG]?$")
DELIVERING = ("move", "copy", "forward")


class NeedsConfirmation(ServiceError):
    """Saving would replace hand edits or switch off another program's script."""


@dataclass
class Filters:
    """The account's scripts and the builder's rules (None when it cannot read its script)."""

    listing: Listing
    ruleset: RuleSet | None
    problem: str = ""
    text: str = ""

    @property
    def foreign_active(self) -> str | None:
        """The active script when another program wrote it."""
        active = self.listing.active
        return active if active and active != SCRIPT else None

    @property
    def exists(self) -> bool:
        """Whether the builder's script is on the server."""
        return SCRIPT in self.listing.names


def load(store: SieveStore) -> Filters:
    """The scripts on the server and the rules of the builder's script."""
    listing = store.listing()
    if SCRIPT not in listing.names:
        return Filters(listing, RuleSet())
    text = store.get(SCRIPT)
    try:
        return Filters(listing, read(text), text=text)
    except NotBuilderScript as exc:
        return Filters(listing, None, problem=str(exc), text=text)


def consequences(state: Filters, switch: bool = True) -> list[str]:
    """What saving the builder's script would do besides saving, in plain words."""
    notes = []
    if state.ruleset is None and state.exists:
        notes.append(_l('The script “%(script)s” was edited by hand (%(problem)s); saving from the '
                        'rule builder replaces those edits.', script=SCRIPT, problem=state.problem))
    if switch and state.foreign_active:
        notes.append(_l('The active script “%(foreign_active)s” was written by another program. It '
                        'will be switched off (not deleted) and “%(script)s” switched on; you can '
                        'switch back under Scripts.', foreign_active=state.foreign_active, script=SCRIPT))
    return notes


def save(store: SieveStore, state: Filters, ruleset: RuleSet, confirmed: bool = False,
         switch: bool = True) -> None:
    """Write RULESET as the builder's script; make it active (SWITCH: even over another's)."""
    notes = consequences(state, switch)
    if notes and not confirmed:
        raise NeedsConfirmation(" ".join(str(note) for note in notes))
    store.put(SCRIPT, write(ruleset))
    if state.listing.active != SCRIPT and (switch or state.listing.active is None):
        store.activate(SCRIPT)


def _rules(state: Filters) -> RuleSet:
    if state.ruleset is None:
        raise InvalidInput(_l("The filter script was edited by hand: change it in the text editor, "
                           "or save a rule from the builder to replace it."))
    return state.ruleset


def _at(ruleset: RuleSet, index: int, name: str) -> Rule:
    """Rule INDEX, if it is still the one called NAME (another tab may have changed them)."""
    if not 0 <= index < len(ruleset.rules) or ruleset.rules[index].name != name:
        raise InvalidInput(_l("The rules changed in the meantime. Look at the list again and retry."))
    return ruleset.rules[index]


def put_rule(store: SieveStore, state: Filters, rule: Rule, index: int | None = None,
             name: str = "", confirmed: bool = False) -> None:
    """Add RULE at the end, or replace rule INDEX (still called NAME)."""
    ruleset = state.ruleset if state.ruleset is not None else RuleSet()
    if state.ruleset is not None and index is not None:
        _at(ruleset, index, name)
        rules = [*ruleset.rules[:index], rule, *ruleset.rules[index + 1:]]
    else:
        rules = [*ruleset.rules, rule]
    save(store, state, replace(ruleset, rules=rules), confirmed)


def delete_rule(store: SieveStore, state: Filters, index: int, name: str) -> None:
    """Remove rule INDEX (still called NAME)."""
    ruleset = _rules(state)
    _at(ruleset, index, name)
    save(store, state, replace(ruleset, rules=[r for i, r in enumerate(ruleset.rules) if i != index]),
         switch=False)


def move_rule(store: SieveStore, state: Filters, index: int, name: str, step: int) -> None:
    """Move rule INDEX one place up (STEP -1) or down (+1)."""
    ruleset = _rules(state)
    _at(ruleset, index, name)
    target = index + step
    if not 0 <= target < len(ruleset.rules):
        return
    rules = list(ruleset.rules)
    rules[index], rules[target] = rules[target], rules[index]
    save(store, state, replace(ruleset, rules=rules), switch=False)


def set_enabled(store: SieveStore, state: Filters, index: int, name: str, enabled: bool) -> None:
    """Switch rule INDEX on or off (off rules stay in the script inside `if false`)."""
    ruleset = _rules(state)
    rule = _at(ruleset, index, name)
    rules = list(ruleset.rules)
    rules[index] = replace(rule, enabled=enabled)
    save(store, state, replace(ruleset, rules=rules), switch=False)


# --- checking a rule from the builder's form --------------------------------------

def check_rule(rule: Rule, folders: list[str], own_address: str) -> Rule:
    """RULE cleaned and checked; InvalidField names the first field that is wrong."""
    name = one_line(rule.name)[:NAME_MAX]
    if not name:
        raise InvalidField("name", _l("Give the rule a name."))
    if rule.match not in ("all", "any"):
        raise InvalidField("match", _l("Choose whether all or any of the conditions must hold."))
    if not rule.conditions or not rule.actions:
        raise InvalidField("conditions" if not rule.conditions else "actions",
                           _l("A rule needs at least one condition and one action."))
    if len(rule.conditions) > MAX_ROWS or len(rule.actions) > MAX_ROWS:
        raise InvalidInput(_l('A rule can have at most %(max_rows)s conditions and %(max_rows)s '
                              'actions.', max_rows=MAX_ROWS))
    conditions = [_condition(i, c) for i, c in enumerate(rule.conditions)]
    actions = [_action(i, a, folders, own_address) for i, a in enumerate(rule.actions)]
    _check_combination(actions)
    return Rule(name, conditions, actions, rule.match, rule.enabled).normalised()


def _condition(i: int, cond: Condition) -> Condition:
    field = f"cond-{i}"
    if cond.field not in FIELDS:
        raise InvalidField(f"{field}-field", _l("Choose what the condition looks at."))
    if (cond.op in SIZE_OPS) != (cond.field == "size") or cond.op not in (*SIZE_OPS, *TEXT_OPS):
        raise InvalidField(f"{field}-op", _l("A size is compared with “is over” or “is under”; "
                           "text with “contains”, “does not contain”, “is” or “matches”."))
    if cond.field == "size":
        value = cond.value.strip().upper()
        if not SIZE.match(value):
            raise InvalidField(f"{field}-value", _l("A size is a whole number, e.g. 500 KB or 2 MB."))
        return Condition("size", cond.op, value)
    header = ""
    if cond.field == "header":
        header = cond.header.strip()
        if not HEADER_NAME.match(header):
            raise InvalidField(f"{field}-header", _l("A header name has letters, digits and "
                               "dashes, without a colon, e.g. List-Id."))
    value = one_line(cond.value) if cond.field != "body" else cond.value.strip()
    if not value or len(value) > VALUE_MAX or "\n" in value:
        raise InvalidField(f"{field}-value", _l('Type the text to look for (one line, at most '
                                                '%(value_max)s characters).', value_max=VALUE_MAX))
    return Condition(cond.field, cond.op, value, header)


def _action(i: int, action: Action, folders: list[str], own_address: str) -> Action:
    field = f"act-{i}"
    if action.kind not in ACTIONS:
        raise InvalidField(f"{field}-kind", _l("Choose what to do with the message."))
    if action.kind in ("move", "copy"):
        if action.value not in folders:
            raise InvalidField(f"{field}-folder", _l('There is no folder %(value)s.',
                                                     value=f"{action.value!r}"))
        return Action(action.kind, action.value)
    if action.kind == "forward":
        target = address(f"{field}-address", action.value, _l("The forwarding address"))
        if target == own_address:
            raise InvalidField(f"{field}-address", _l("Forwarding to your own address would loop."))
        return Action("forward", target, keep=action.keep)
    if action.kind == "reject":
        return Action("reject", plain_text(f"{field}-text", action.value, _l("The refusal message"),
                                           VALUE_MAX))
    return Action(action.kind)


def _check_combination(actions: list[Action]) -> None:
    kinds = {a.kind for a in actions}
    ending = kinds & {"delete", "reject"}
    if ending and (kinds & set(DELIVERING) or len(ending) > 1):
        raise InvalidField("actions", _l("Delete and reject end the message's way: they cannot be "
                           "combined with each other, with moving, copying or forwarding."))
    if ending and kinds & set(FLAGS):
        raise InvalidField("actions", _l("A deleted or refused message cannot be marked."))


# --- scripts and the raw editor ---------------------------------------------------

def check_script_name(name: str) -> str:
    """NAME if it can name a script (no slashes or control characters, at most 64)."""
    name = (name or "").strip()
    if not SCRIPT_NAME.match(name):
        raise InvalidField("name", _l("A script name has 1 to 64 characters, without slashes."))
    return name


def save_raw(store: SieveStore, name: str, text: str, activate: bool) -> None:
    """Store TEXT as script NAME after the server checked it (ScriptRejected otherwise)."""
    name = check_script_name(name)
    store.put(name, text.replace("\r\n", "\n"))
    if activate:
        store.activate(name)


def activate(store: SieveStore, name: str) -> None:
    """Make script NAME the active one (only one script runs at a time)."""
    if name not in store.listing().names:
        raise InvalidInput(_l('There is no script %(name)s.', name=f"{name!r}"))
    store.activate(name)


def deactivate(store: SieveStore) -> None:
    """Switch filtering off: no script is active, mail goes to the Inbox."""
    store.activate("")


def delete_script(store: SieveStore, name: str) -> None:
    """Delete script NAME; the active one must be switched off first."""
    listing = store.listing()
    if name == listing.active:
        raise InvalidInput(_l("The active script cannot be deleted; switch it off first."))
    if name not in listing.names:
        raise InvalidInput(_l('There is no script %(name)s.', name=f"{name!r}"))
    store.delete(name)
