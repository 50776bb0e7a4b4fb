"""`flask --app app queue list|show ID|flush [ID]|delete ID|delete --all --yes [--json]`:
Postfix's mail queue, through the same service as Admin → Server → Queue.

Flushes and deletions are audited as `cli:USER`; every command needs the stack's
worker (the privileged helper runs Postfix's queue tools).
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.cli_common import actor, fail
from core.cli_output import emit, emit_rows, json_option
from core.db import db
from core.mail.errors import MailError
from core.services.errors import ServiceError
from core.services.server import queue

queue_cli = AppGroup("queue", help="Postfix's mail queue: list, show headers, attempt to send, delete.")


def _cfg() -> dict:
    return dict(current_app.config)


def _run(work):
    """WORK(session); a refusal or an unreachable helper ends the command with its message."""
    try:
        with db.factory() as session:
            return work(session)
    except (ServiceError, MailError) as exc:
        fail(exc)


def _line(row: dict) -> str:
    recipients = ", ".join(r["address"] for r in row["recipients"])
    reason = f"\n    {row['reason']}" if row["reason"] else ""
    return (f"{row['queue_id']:<12} {row['queue']:<8} {row['size']:>8} B  {row['arrival'][:19]}  "
            f"{row['sender'] or '<>'} -> {recipients}{reason}")


@queue_cli.command("list")
@click.option("--sender", default="", help="Only messages whose sender contains this text.")
@click.option("--recipient", default="", help="Only messages with a recipient containing this text.")
@json_option
def queue_list(sender: str, recipient: str, as_json: bool) -> None:
    """Every queued message, newest first: id, queue, size, arrival, sender, recipients, reason."""
    rows, page = [], 1
    while True:  # the helper answers a page at a time
        listed = _run(lambda s: queue.listing(_cfg(), sender, recipient, page, per_page=1000))
        rows += [m.as_json() for m in listed.messages]
        if page >= listed.pages:
            break
        page += 1
    emit_rows(as_json, rows, _line, "The queue is empty." if not (sender or recipient)
              else "No queued message matches.")


@queue_cli.command("show")
@click.argument("queue_id")
@json_option
def queue_show(queue_id: str, as_json: bool) -> None:
    """The headers of a queued message (postcat -hq)."""
    text = _run(lambda s: queue.headers(_cfg(), queue_id))
    emit(as_json, {"queue_id": queue_id, "headers": text}, text.rstrip("\n"))


@queue_cli.command("flush")
@click.argument("queue_id", required=False)
@json_option
def queue_flush(queue_id: str | None, as_json: bool) -> None:
    """Attempt to send QUEUE_ID now, or every queued message without one."""
    _run(lambda s: queue.flush(s, _cfg(), actor(), queue_id))
    emit(as_json, {"flushed": queue_id or "all"},
         f"Postfix is attempting to send {queue_id or 'every queued message'} now.")


@queue_cli.command("delete")
@click.argument("queue_id", required=False)
@click.option("--all", "everything", is_flag=True, help="Delete every queued message (needs --yes).")
@click.option("--yes", is_flag=True, help="Confirm --all: deleted messages are neither delivered nor returned.")
@json_option
def queue_delete(queue_id: str | None, everything: bool, yes: bool, as_json: bool) -> None:
    """Delete QUEUE_ID, or with --all --yes every queued message, for good."""
    if everything == bool(queue_id):
        raise click.UsageError("Name one queue id, or give --all --yes.")
    if everything and not yes:
        raise click.UsageError("--all deletes every queued message for good: add --yes to confirm.")
    if everything:
        deleted = _run(lambda s: queue.delete_all(s, _cfg(), actor()))
    else:
        _run(lambda s: queue.delete(s, _cfg(), actor(), queue_id))
        deleted = 1
    emit(as_json, {"deleted": deleted},
         f"Deleted {deleted} message(s) from the queue." if everything else f"Deleted {queue_id}.")
