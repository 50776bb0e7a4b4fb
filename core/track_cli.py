"""`flask --app app track QUERY [--since ISO] [--json]`: a message's path through the server.

QUERY is a queue id, a Message-ID, a sender or a recipient address ('' lists every
message). The mail log is read by the stack's privileged helper (the worker must run).
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from core.cli_common import fail
from core.cli_output import emit, json_option
from core.mail.errors import MailError
from core.services.errors import ServiceError
from core.services.server import tracking


def _text(message: tracking.Message) -> str:
    """One message as people read it: a heading, then one line per event."""
    ids = " → ".join(message.queue_ids) or "NOQUEUE"
    head = f"{ids}  <{message.message_id}>  from <{message.sender}>  {message.status}"
    return "\n".join([head, *(f"  {e.time}  {e.stage:<9}  {e.detail}" for e in message.events)])


@click.command("track")
@click.argument("query")
@click.option("--since", default="", help="Only messages from this ISO date/time on.")
@click.option("--limit", default=tracking.LIMIT, show_default=True, type=click.IntRange(1, 1000),
              help="At most this many messages, newest first.")
@json_option
@with_appcontext
def track_command(query: str, since: str, limit: int, as_json: bool) -> None:
    """Show where messages went: received, scanned, queued, delivered or not, removed."""
    try:
        found = tracking.track(current_app.config, query, tracking.parse_since(since), limit=limit)
    except (ServiceError, MailError) as exc:
        fail(exc)
    rows = [{"queue_id": m.queue_id, "queue_ids": m.queue_ids, "message_id": m.message_id,
             "sender": m.sender, "recipients": m.recipients, "status": m.status,
             "events": [e.__dict__ for e in m.events]} for m in found]
    emit(as_json, rows, "\n\n".join(_text(m) for m in found) or "No message in the mail log matches.")
