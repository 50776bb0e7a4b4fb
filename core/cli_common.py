"""What the command-line modules share: JSON output, the audit actor, one transaction per change."""
from __future__ import annotations

import getpass
import json

import click

from core.db import db
from core.services.errors import ServiceError
from core.services.access.roles import Roles

ALL = Roles(server=True)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def actor() -> str:
    """Who the audit log names for a command-line change."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def emit(as_json: bool, data, text: str) -> None:
    """Print DATA as JSON, or TEXT for people."""
    click.echo(json.dumps(data, sort_keys=True) if as_json else text)


def emit_rows(as_json: bool, rows: list[dict], line, empty: str) -> None:
    """Print ROWS as JSON, or LINE(row) for each row for people (EMPTY when there is none)."""
    emit(as_json, rows, "\n".join(line(r) for r in rows) or empty)


def fail(exc: Exception) -> None:
    """Exit non-zero with the service's message (no traceback)."""
    raise click.ClickException(str(exc))


def change(work):
    """Run WORK(session) in one transaction; a ServiceError becomes a clean exit."""
    try:
        with db.transaction() as session:
            return work(session)
    except ServiceError as exc:
        fail(exc)
