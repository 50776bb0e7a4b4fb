"""The rule builder's form: its fields as a Rule, and the row buttons that need no script."""
from __future__ import annotations

import re

from werkzeug.datastructures import MultiDict

from core.mail.sieve_rules import Action, Condition, Rule

ROW = re.compile(r"^(cond|act)-(\d+)-")
UNIT_OF = {"K": "K", "M": "M"}


def _indices(form: MultiDict, prefix: str) -> list[int]:
    found = {int(m.group(2)) for key in form for m in [ROW.match(key)] if m and m.group(1) == prefix}
    return sorted(found)


def _part(form: MultiDict, row: str, name: str) -> str:
    return form.get(f"{row}-{name}", "")


def _condition(form: MultiDict, i: int) -> Condition:
    row = f"cond-{i}"
    field, value = _part(form, row, "field"), _part(form, row, "value")
    if field == "size":
        value = value.strip() + UNIT_OF.get(_part(form, row, "unit"), "")
    return Condition(field, _part(form, row, "op") or "contains", value, _part(form, row, "header"))


def _action(form: MultiDict, i: int) -> Action:
    row = f"act-{i}"
    kind = _part(form, row, "kind")
    argument = {"move": "folder", "copy": "folder", "forward": "address", "reject": "text"}
    value = _part(form, row, argument[kind]) if kind in argument else ""
    return Action(kind, value, keep=bool(_part(form, row, "keep")))


def rule_from_form(form: MultiDict) -> Rule:
    """The rule as typed (not yet checked), with rows added or removed by the row buttons."""
    conditions = [_condition(form, i) for i in _indices(form, "cond")]
    actions = [_action(form, i) for i in _indices(form, "act")]
    if "remove-cond" in form:
        conditions = _without(conditions, form["remove-cond"])
    if "remove-act" in form:
        actions = _without(actions, form["remove-act"])
    if "add-cond" in form or not conditions:
        conditions.append(Condition("subject", "contains", ""))
    if "add-act" in form or not actions:
        actions.append(Action("move", ""))
    return Rule(form.get("name", ""), conditions, actions,
                "any" if form.get("match") == "any" else "all", "enabled" in form)


def _without(rows: list, index: str) -> list:
    try:
        drop = int(index)
    except ValueError:
        return rows
    return [row for i, row in enumerate(rows) if i != drop]


def editing_only(form: MultiDict) -> bool:
    """Whether the form was sent by an add/remove row button, not by Save."""
    return any(key in form for key in ("add-cond", "add-act", "remove-cond", "remove-act"))


def size_parts(value: str) -> tuple[str, str]:
    """'500K' as ('500', 'K') for the number field and the unit menu."""
    if value[-1:] in ("K", "M", "G"):
        return value[:-1], value[-1:]
    return value, ""
