"""Rules and settings in plain sentences: "When the subject contains “invoice”, move it to Bills."""
from __future__ import annotations

from core.mail.sieve_rules import Action, Condition, Rule

FIELD_WORDS = {"from": "the sender", "to": "a recipient (To or Cc)", "subject": "the subject",
               "header": "the header", "body": "the text", "size": "the size"}
FIELD_CHOICES = [("from", "the sender (From)"), ("to", "a recipient (To or Cc)"),
                 ("subject", "the subject"), ("header", "the header …"),
                 ("body", "the text (body)"), ("size", "the size")]
OP_WORDS = {"contains": "contains", "notcontains": "does not contain", "is": "is",
            "matches": "matches", "over": "is over", "under": "is under"}
TEXT_OP_CHOICES = [("contains", "contains"), ("notcontains", "does not contain"),
                   ("is", "is"), ("matches", "matches (* and ?)")]
SIZE_OP_CHOICES = [("over", "is over"), ("under", "is under")]
ACTION_CHOICES = [("move", "move it to"), ("copy", "copy it to"), ("forward", "forward it to"),
                  ("read", "mark it as read"), ("flag", "flag it"), ("delete", "delete it"),
                  ("reject", "refuse it with a message"),
                  ("stop", "stop: skip the rules below")]
UNITS = {"K": "KB", "M": "MB", "G": "GB", "": "bytes"}


def size_text(value: str) -> str:
    """'500K' as '500 KB'."""
    unit = value[-1:] if value[-1:] in UNITS and not value[-1:].isdigit() else ""
    return f"{value[:-1] if unit else value} {UNITS[unit]}"


def condition_text(cond: Condition) -> str:
    """One condition, e.g. 'the subject contains “invoice”'."""
    subject = f"the header {cond.header}" if cond.field == "header" else FIELD_WORDS[cond.field]
    value = size_text(cond.value) if cond.field == "size" else f"“{cond.value}”"
    return f"{subject} {OP_WORDS[cond.op]} {value}"


def action_text(action: Action) -> str:
    """One action, e.g. 'move it to Bills' or 'forward it to a@b.test and keep a copy'."""
    if action.kind in ("move", "copy"):
        return f"{action.kind} it to {action.value}"
    if action.kind == "forward":
        return f"forward it to {action.value}" + (" and keep a copy" if action.keep else "")
    if action.kind == "reject":
        return f"refuse it with “{action.value}”"
    if action.kind == "stop":
        return "skip the rules below"
    return dict(ACTION_CHOICES)[action.kind]


def rule_text(rule: Rule) -> str:
    """The whole rule as one sentence."""
    joiner = " and " if rule.match == "all" else " or "
    conditions = joiner.join(condition_text(c) for c in rule.conditions)
    actions = [action_text(a) for a in rule.actions]
    done = ", ".join(actions[:-1]) + (" and " if len(actions) > 1 else "") + actions[-1]
    return f"When {conditions}, {done}."
