"""Rules and settings in plain sentences: "When the subject contains “invoice”, move it to Bills."""
from __future__ import annotations
from flask_babel import gettext as _

from core.i18n import lazy_gettext as _l
from core.mail.sieve_rules import Action, Condition, Rule

FIELD_WORDS = {"from": _l("the sender"), "to": _l("a recipient (To or Cc)"), "subject": _l("the subject"),
               "header": _l("the header"), "body": _l("the text"), "size": _l("the size")}
FIELD_CHOICES = [("from", _l("the sender (From)")), ("to", _l("a recipient (To or Cc)")),
                 ("subject", _l("the subject")), ("header", _l("the header …")),
                 ("body", _l("the text (body)")), ("size", _l("the size"))]
OP_WORDS = {"contains": _l("contains"), "notcontains": _l("does not contain"), "is": _l("is"),
            "matches": _l("matches"), "over": _l("is over"), "under": _l("is under")}
TEXT_OP_CHOICES = [("contains", _l("contains")), ("notcontains", _l("does not contain")),
                   ("is", _l("is")), ("matches", _l("matches (* and ?)"))]
SIZE_OP_CHOICES = [("over", _l("is over")), ("under", _l("is under"))]
ACTION_CHOICES = [("move", _l("move it to")), ("copy", _l("copy it to")), ("forward", _l("forward it to")),
                  ("read", _l("mark it as read")), ("flag", _l("flag it")), ("delete", _l("delete it")),
                  ("reject", _l("refuse it with a message")),
                  ("stop", _l("stop: skip the rules below"))]
UNITS = {"K": "KB", "M": "MB", "G": "GB", "": "bytes"}


def size_text(value: str) -> str:
    """'500K' as '500 KB'."""
    unit = value[-1:] if value[-1:] in UNITS and not value[-1:].isdigit() else ""
    return f"{value[:-1] if unit else value} {UNITS[unit]}"


def condition_text(cond: Condition) -> str:
    """One condition, e.g. 'the subject contains “invoice”'."""
    subject = _("the header %(name)s",
                name=cond.header) if cond.field == "header" else FIELD_WORDS[cond.field]
    value = size_text(cond.value) if cond.field == "size" else f"“{cond.value}”"
    return f"{subject} {OP_WORDS[cond.op]} {value}"


def action_text(action: Action) -> str:
    """One action, e.g. 'move it to Bills' or 'forward it to a@b.test and keep a copy'."""
    if action.kind == "move":
        return _("move it to %(folder)s", folder=action.value)
    if action.kind == "copy":
        return _("copy it to %(folder)s", folder=action.value)
    if action.kind == "forward":
        if action.keep:
            return _("forward it to %(address)s and keep a copy", address=action.value)
        return _("forward it to %(address)s", address=action.value)
    if action.kind == "reject":
        return _('refuse it with “%(value)s”', value=action.value)
    if action.kind == "stop":
        return _("skip the rules below")
    return dict(ACTION_CHOICES)[action.kind]


def rule_text(rule: Rule) -> str:
    """The whole rule as one sentence."""
    joiner = _(" and ") if rule.match == "all" else _(" or ")
    conditions = joiner.join(condition_text(c) for c in rule.conditions)
    actions = [str(action_text(a)) for a in rule.actions]
    done = ", ".join(actions[:-1]) + (_(" and ") if len(actions) > 1 else "") + actions[-1]
    return _("When %(conditions)s, %(actions)s.", conditions=conditions, actions=done)
