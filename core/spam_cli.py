"""`flask --app app spam status [--json]`: Bayes readiness and the training queue."""
from __future__ import annotations

import json
import time

import click
from flask import current_app
from flask.cli import AppGroup

from core.services.spam import learning

spam_cli = AppGroup("spam", help="The spam filter: Bayes readiness and Junk training.")


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
