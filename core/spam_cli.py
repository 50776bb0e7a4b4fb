"""`flask --app app spam …`: Bayes readiness and the training queue; the filter's thresholds
and Block From / Allow From / Allow To rules, as Admin → Spam filter sets them.

`spam set` and `spam rule` go through the admin page's service functions
(core/services/spam/spam_filter.py): the same checks and messages, audited as `cli:USER`,
then applied (Rspamd reloaded, or its maps written) like a saved form.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict

import click
from flask import current_app
from flask.cli import AppGroup

from core.cli_common import actor, change, fail
from core.cli_output import emit, emit_rows, json_option
from core.mail.errors import MailError
from core.models import ALLOW_FROM, ALLOW_TO, BLOCK_FROM
from core.models.spam import filter_settings
from core.services.spam import learning, spam_filter

spam_cli = AppGroup("spam", help="The spam filter: thresholds, rules, Bayes readiness and Junk training.")
# `spam set` KEY -> the admin form's field.
SETTING_KEYS = {"greylist": "greylist", "spam": "spam", "reject": "reject", "subject-prefix": "subject_prefix"}
# `spam rule add` KIND -> the rule list.
RULE_KINDS = {"block": BLOCK_FROM, "allow": ALLOW_FROM, "allow-to": ALLOW_TO}


@spam_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_command(as_json: bool) -> None:
    """Learned spam and ham against min_learns, Bayes active or not, the retry queue."""
    result = learning.status(dict(current_app.config))
    if as_json:
        click.echo(json.dumps(result.as_json(), sort_keys=True))
        return
    for line in status_lines(result):
        click.echo(line)


def _count(value: int | None) -> str:
    return "unknown" if value is None else str(value)


def _active(r: learning.Readiness) -> str:
    if not r.available:
        return f"unavailable: {r.error}"
    return "yes" if r.active else "no (it needs both counts at the threshold)"


def status_lines(result: learning.SpamStatus) -> list[str]:
    """The status as the plain-text command prints it."""
    r, q = result.readiness, result.queue
    lines = [
        f"Bayes learned spam: {_count(r.spam)} of {r.min_learns}",
        f"Bayes learned ham:  {_count(r.ham)} of {r.min_learns}",
        f"Bayes active:       {_active(r)}",
    ]
    if r.error and r.available:
        lines.append(f"Counts:             could not be read fully: {r.error}")
    lines.append(f"Training queue:     {q.length} waiting"
                 + ("" if q.worker_running else " (the queue worker is not running)"))
    if q.last_error:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(q.last_error_at or 0))
        state = "still failing" if q.failing else "recovered since"
        lines.append(f"Last error:         {q.last_error} ({when}, {state})")
    return lines


@spam_cli.command("set")
@click.argument("key", type=click.Choice(list(SETTING_KEYS)))
@click.argument("value")
@json_option
def set_command(key: str, value: str, as_json: bool) -> None:
    """Set a threshold (a score; '' or off turns that action off) or the subject prefix ('' for none)."""
    field = SETTING_KEYS[key]
    if field != "subject_prefix" and value.strip().lower() == "off":
        value = ""

    def store(session):
        texts = {**spam_filter.settings_texts(filter_settings(session)), field: value}
        settings = spam_filter.parse_settings(**texts)
        spam_filter.save_settings(session, settings, actor())
        return settings

    settings = change(store)
    try:
        spam_filter.apply_settings(dict(current_app.config), settings)
    except MailError as exc:
        live, text = False, f"Saved, but Rspamd does not use the new thresholds yet: {exc}"
    else:
        live, text = True, "Saved. Rspamd uses the new thresholds for the next message."
    emit(as_json, {"settings": asdict(settings), "live": live, "detail": "" if live else text}, text)


rule_cli = AppGroup("rule", help="Block From / Allow From / Allow To rules (addresses or whole domains).")
spam_cli.add_command(rule_cli)


def _rule_row(rule) -> dict:
    return {"id": rule.id, "kind": rule.kind, "list": spam_filter.RULE_LABELS[rule.kind], "value": rule.value}


def _publish(as_json: bool, data: dict, done: str) -> None:
    """Write Rspamd's maps from the database and say whether the change is live."""
    try:
        spam_filter.publish_rules(dict(current_app.config))
    except MailError as exc:
        emit(as_json, {**data, "live": False, "detail": str(exc)}, f"{done} It is saved, but not in use yet: {exc}")
        return
    emit(as_json, {**data, "live": True, "detail": ""}, f"{done} It applies to the next message.")


@rule_cli.command("add")
@click.argument("kind", type=click.Choice(list(RULE_KINDS)))
@click.argument("value")
@json_option
def rule_add(kind: str, value: str, as_json: bool) -> None:
    """Put an address or a whole domain (example.com or @example.com) on a list."""
    rule = change(lambda session: _rule_row(spam_filter.add_rule(session, RULE_KINDS[kind], value, actor())))
    _publish(as_json, rule, f"Added {rule['value']} to {rule['list']} (rule {rule['id']}).")


@rule_cli.command("list")
@json_option
def rule_list(as_json: bool) -> None:
    """Every rule with its id, by list."""
    rows = change(lambda session: [_rule_row(rule) for rules in spam_filter.list_rules(session).values()
                                   for rule in rules])
    emit_rows(as_json, rows, lambda r: f"{r['id']:>5}  {r['list']:<11} {r['value']}", "No rules.")


@rule_cli.command("remove")
@click.argument("rule_id", type=int)
@json_option
def rule_remove(rule_id: int, as_json: bool) -> None:
    """Take rule RULE_ID (see `spam rule list`) off its list."""
    rule = change(lambda session: _rule_row(spam_filter.remove_rule(session, rule_id, actor())))
    _publish(as_json, rule, f"Removed {rule['value']} from {rule['list']}.")
