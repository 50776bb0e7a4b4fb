"""How every command prints: text for people, or one JSON document with --json.

Only click and json here, so the stack's commands can use it without the services.
"""
from __future__ import annotations

import json

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def emit(as_json: bool, data, text: str) -> None:
    """Print DATA as JSON, or TEXT for people."""
    click.echo(json.dumps(data, sort_keys=True) if as_json else text)


def emit_rows(as_json: bool, rows: list[dict], line, empty: str) -> None:
    """Print ROWS as JSON, or LINE(row) for each row for people (EMPTY when there is none)."""
    emit(as_json, rows, "\n".join(line(r) for r in rows) or empty)
