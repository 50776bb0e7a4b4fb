"""The rule builder's Sieve: typed rules and a vacation reply, written and read with sievelib.

Every name and value reaches the script through sievelib's quoting (`tools.quote`) or
as a comment line sievelib writes; nothing is put together by string formatting. A
script counts as the builder's own only when writing what was read gives back the
same text, so hand edits the builder cannot show are never silently dropped.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from datetime import date

from sievelib import commands, tools
from sievelib.factory import FiltersSet
from sievelib.parser import Parser

FIELDS = ("from", "to", "subject", "header", "body", "size")
TEXT_OPS = ("contains", "notcontains", "is", "matches")
SIZE_OPS = ("over", "under")
ACTIONS = ("move", "copy", "forward", "read", "flag", "delete", "reject", "stop")
FLAGS = {"read": "\\Seen", "flag": "\\Flagged"}
NAME_PREFIX = "# Filter: "
VACATION_NAME = "Vacation reply"
# Headers the address test understands; `is` and `matches` compare the bare address.
ADDRESS_HEADERS = {"from": ["from"], "to": ["to", "cc"]}
REQUIRE_ORDER = ("fileinto", "copy", "imap4flags", "body", "reject", "vacation", "date",
                 "relational")


class NotBuilderScript(ValueError):
    """The script holds something the builder cannot show as rules."""


@dataclass
class Condition:
    """One test, e.g. Condition('subject', 'contains', 'invoice') or ('size', 'over', '2M')."""

    field: str
    op: str
    value: str
    header: str = ""


@dataclass
class Action:
    """One action, e.g. Action('move', 'Invoices') or Action('forward', 'a@b.test', keep=True)."""

    kind: str
    value: str = ""
    keep: bool = False


@dataclass
class Rule:
    """A named rule: when all (or any) conditions hold, do the actions."""

    name: str
    conditions: list[Condition]
    actions: list[Action]
    match: str = "all"
    enabled: bool = True

    def normalised(self) -> "Rule":
        """The same rule with flags first and `stop` last, the order Sieve needs them in."""
        def rank(action: Action) -> int:
            return 0 if action.kind in FLAGS else 2 if action.kind == "stop" else 1
        return replace(self, actions=sorted(self.actions, key=rank))


@dataclass
class Vacation:
    """The automatic reply; dates are inclusive, `days` is the per-sender interval."""

    enabled: bool
    subject: str
    message: str
    days: int = 7
    addresses: list[str] = field(default_factory=list)
    start: date | None = None
    end: date | None = None


@dataclass
class RuleSet:
    """What the builder keeps in its script: the vacation reply and the rules, in order."""

    rules: list[Rule] = field(default_factory=list)
    vacation: Vacation | None = None


# --- writing -----------------------------------------------------------------------

def _new(name: str, parent: commands.Command | None = None) -> commands.Command:
    return commands.get_command_instance(name, parent, checkexists=False)


def _arg(cmd: commands.Command, kind: str, value) -> None:
    """Add an argument; strings are quoted by sievelib, never by hand."""
    if kind == "string":
        value = tools.quote(value)
    elif kind == "stringlist":
        value = [tools.quote(v) for v in value]
    cmd.check_next_arg(kind, value, check_extension=False)


def _test(cond: Condition, parent: commands.Command, needs: set[str]) -> commands.Command:
    """The Sieve test for one condition (wrapped in `not` for 'does not contain')."""
    negate = cond.op == "notcontains"
    op = ":contains" if negate else f":{cond.op}"
    if cond.field == "size":
        cmd = _new("size", parent)
        cmd.check_next_arg("tag", op, check_extension=False)
        cmd.check_next_arg("number", cond.value, check_extension=False)
        return cmd
    if cond.field == "body":
        needs.add("body")
        cmd = _new("body", parent)
        cmd.check_next_arg("tag", ":text", check_extension=False)
    elif cond.field in ADDRESS_HEADERS and cond.op in ("is", "matches"):
        cmd = _new("address", parent)
    else:
        cmd = _new("header", parent)
    cmd.check_next_arg("tag", op, check_extension=False)
    if cond.field != "body":
        names = ADDRESS_HEADERS.get(cond.field) or [cond.header if cond.field == "header" else cond.field]
        _arg(cmd, "stringlist" if len(names) > 1 else "string", names if len(names) > 1 else names[0])
    _arg(cmd, "string", cond.value)
    if not negate:
        return cmd
    wrapper = _new("not", parent)
    wrapper.check_next_arg("test", cmd, check_extension=False)
    return wrapper


def _action(action: Action, parent: commands.Command, needs: set[str]) -> commands.Command:
    """The Sieve command for one action."""
    if action.kind in FLAGS:
        needs.add("imap4flags")
        cmd = _new("addflag", parent)
        _arg(cmd, "string", FLAGS[action.kind])
    elif action.kind in ("move", "copy"):
        needs.add("fileinto")
        cmd = _new("fileinto", parent)
        if action.kind == "copy":
            needs.add("copy")
            cmd.check_next_arg("tag", ":copy", check_extension=False)
        _arg(cmd, "string", action.value)
    elif action.kind == "forward":
        cmd = _new("redirect", parent)
        if action.keep:
            needs.add("copy")
            cmd.check_next_arg("tag", ":copy", check_extension=False)
        _arg(cmd, "string", action.value)
    elif action.kind == "reject":
        needs.add("reject")
        cmd = _new("reject", parent)
        _arg(cmd, "string", action.value)
    else:
        cmd = _new({"delete": "discard", "stop": "stop"}[action.kind], parent)
    return cmd


def _rule_block(rule: Rule, needs: set[str]) -> commands.Command:
    block = _new("if")
    group = _new("allof" if rule.match == "all" else "anyof", block)
    for cond in rule.conditions:
        group.check_next_arg("test", _test(cond, group, needs), check_extension=False)
    block.check_next_arg("test", group, check_extension=False)
    for action in rule.normalised().actions:
        block.addchild(_action(action, block, needs))
    return block


def _vacation_block(vac: Vacation, needs: set[str]) -> commands.Command:
    needs.add("vacation")
    block = _new("if")
    limits = [("ge", vac.start), ("le", vac.end)]
    if vac.start or vac.end:
        needs.update(("date", "relational"))
        group = _new("allof", block)
        for relation, day in limits:
            if day:
                test = _new("currentdate", group)
                test.check_next_arg("tag", ":value", check_extension=False)
                _arg(test, "string", relation)
                _arg(test, "string", "date")
                _arg(test, "string", day.isoformat())
                group.check_next_arg("test", test, check_extension=False)
        block.check_next_arg("test", group, check_extension=False)
    else:
        block.check_next_arg("test", _new("true", block), check_extension=False)
    reply = _new("vacation", block)
    reply.check_next_arg("tag", ":days", check_extension=False)
    reply.check_next_arg("number", str(vac.days), check_extension=False)
    reply.check_next_arg("tag", ":subject", check_extension=False)
    _arg(reply, "string", vac.subject)
    if vac.addresses:
        reply.check_next_arg("tag", ":addresses", check_extension=False)
        _arg(reply, "stringlist", vac.addresses)
    _arg(reply, "string", vac.message)
    block.addchild(reply)
    return block


def _disabled(block: commands.Command) -> commands.Command:
    """`if false { ... }`: sievelib's (and Roundcube's) way of switching a rule off."""
    wrapper = _new("if")
    wrapper.check_next_arg("test", _new("false", wrapper), check_extension=False)
    wrapper.addchild(block)
    return wrapper


def write(ruleset: RuleSet) -> str:
    """The Sieve script for RULESET: requires, then the vacation reply, then the rules."""
    needs: set[str] = set()
    entries = []
    if ruleset.vacation:
        entries.append((VACATION_NAME, _vacation_block(ruleset.vacation, needs),
                        ruleset.vacation.enabled))
    entries += [(rule.name, _rule_block(rule, needs), rule.enabled) for rule in ruleset.rules]
    filters = FiltersSet("mailroom", filter_name_pretext=NAME_PREFIX)
    for name in (n for n in REQUIRE_ORDER if n in needs):
        filters.require(name)
    for name, block, enabled in entries:
        filters.filters.append({"name": name, "enabled": enabled,
                                "content": block if enabled else _disabled(block)})
    out = io.StringIO()
    filters.tosieve(out)
    return out.getvalue()


# --- reading -----------------------------------------------------------------------

def _unquote(value) -> str:
    if isinstance(value, list):
        raise NotBuilderScript("a list where one value was expected")
    return tools.unquote(value)


def _list(value) -> list[str]:
    return [tools.unquote(v) for v in value] if isinstance(value, list) else [tools.unquote(value)]


def _read_test(test: commands.Command) -> Condition:
    """The condition a test written by _test stands for."""
    negate = isinstance(test, commands.NotCommand)
    if negate:
        test = test["test"]
    if isinstance(test, commands.SizeCommand):
        return Condition("size", test["comparator"].lstrip(":"), str(test["limit"]))
    op = "notcontains" if negate else test["match-type"].lstrip(":")
    if isinstance(test, commands.BodyCommand):
        return Condition("body", op, _unquote(test["key-list"]))
    is_address = isinstance(test, commands.AddressCommand)
    names = _list(test["header-list"] if is_address else test["header-names"])
    value = _unquote(test["key-list"])
    for field_name, headers in ADDRESS_HEADERS.items():
        if names == headers and is_address == (op in ("is", "matches")):
            return Condition(field_name, op, value)
    if is_address or len(names) != 1:
        raise NotBuilderScript("an address test the builder did not write")
    if names == ["subject"]:
        return Condition("subject", op, value)
    return Condition("header", op, value, names[0])


def _read_action(cmd: commands.Command) -> Action:
    """The action a command written by _action stands for."""
    if isinstance(cmd, commands.AddflagCommand):
        flag = _unquote(cmd["list-of-flags"])
        kind = next((k for k, f in FLAGS.items() if f == flag), None)
        if kind is None:
            raise NotBuilderScript(f"the flag {flag}")
        return Action(kind)
    if isinstance(cmd, commands.FileintoCommand):
        return Action("copy" if "copy" in cmd.arguments else "move", _unquote(cmd["mailbox"]))
    if isinstance(cmd, commands.RedirectCommand):
        return Action("forward", _unquote(cmd["address"]), keep="copy" in cmd.arguments)
    if isinstance(cmd, commands.RejectCommand):
        return Action("reject", _unquote(cmd["text"]))
    kinds = {commands.DiscardCommand: "delete", commands.StopCommand: "stop"}
    if type(cmd) not in kinds:
        raise NotBuilderScript(f"the command {cmd.name}")
    return Action(kinds[type(cmd)])


def _read_vacation(block: commands.Command, enabled: bool) -> Vacation:
    reply = block.children[0]
    limits: dict[str, date] = {}
    test = block["test"]
    for part in test.arguments.get("tests", []):
        relation = _unquote(part.extra_arguments["match-type"])
        limits[relation] = date.fromisoformat(_unquote(part["key-list"]))
    return Vacation(
        enabled=enabled, subject=_unquote(reply.extra_arguments["subject"]),
        message=_unquote(reply["reason"]), days=int(reply.extra_arguments["days"]),
        addresses=_list(reply.extra_arguments["addresses"]) if "addresses" in reply.arguments else [],
        start=limits.get("ge"), end=limits.get("le"),
    )


def _read_block(name: str, block: commands.Command, ruleset: RuleSet) -> None:
    enabled = not isinstance(block["test"], commands.FalseCommand)
    if not enabled:
        if len(block.children) != 1:
            raise NotBuilderScript("a switched-off block with more than one rule")
        block = block.children[0]
    if block.children and isinstance(block.children[0], commands.VacationCommand):
        ruleset.vacation = _read_vacation(block, enabled)
        return
    group = block["test"]
    if not isinstance(group, (commands.AllofCommand, commands.AnyofCommand)):
        raise NotBuilderScript("a rule without allof/anyof")
    ruleset.rules.append(Rule(
        name=name, match="all" if isinstance(group, commands.AllofCommand) else "any",
        conditions=[_read_test(t) for t in group["tests"]],
        actions=[_read_action(c) for c in block.children], enabled=enabled,
    ))


def _name(block: commands.Command) -> str:
    for comment in block.hash_comments:
        text = comment.decode("utf-8") if isinstance(comment, bytes) else comment
        if text.startswith(NAME_PREFIX):
            return text[len(NAME_PREFIX):]
    raise NotBuilderScript("a block without a name")


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()


def read(text: str) -> RuleSet:
    """The rules of a script the builder wrote; NotBuilderScript for anything else."""
    text = text.replace("\r\n", "\n")  # ManageSieve sends CRLF; values are kept with LF
    parser = Parser()
    if not parser.parse(text.encode("utf-8")):
        raise NotBuilderScript(parser.error)
    ruleset = RuleSet()
    try:
        for cmd in parser.result:
            if isinstance(cmd, commands.RequireCommand):
                continue
            if not isinstance(cmd, commands.IfCommand):
                raise NotBuilderScript(f"the command {cmd.name} outside a rule")
            _read_block(_name(cmd), cmd, ruleset)
    except (KeyError, IndexError, AttributeError, TypeError, ValueError) as exc:
        if isinstance(exc, NotBuilderScript):
            raise
        raise NotBuilderScript(f"something the builder did not write ({exc})") from exc
    if _normal(write(ruleset)) != _normal(text):
        raise NotBuilderScript("hand edits the rule builder cannot show")
    return ruleset
