"""`flask --app app api-tokens list [--json]` / `revoke ID`: every person's API tokens,
through the service the admin page uses (core/services/access/api_token_admin.py)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from core.cli_common import ALL, actor, change
from core.cli_output import emit, emit_rows, json_option
from core.services.access import api_token_admin

api_token_cli = AppGroup("api-tokens", help="People's REST API tokens: list them, revoke one.")


def _line(row: dict) -> str:
    used = f"last used {row['last_used']} from {row['last_used_ip']}" if row["last_used"] else "never used"
    return (f"{row['id']}\t{row['owner']}\t{row['name']}\t{' '.join(row['scopes'])}\t"
            f"created {row['created']}\t{used}\t{row['state']}")


@api_token_cli.command("list")
@json_option
def list_command(as_json: bool) -> None:
    """Every token, newest first: id, owner, name, scopes, created, last use, state."""
    rows = change(lambda session: [api_token_admin.as_json(t) for t in api_token_admin.every(session, ALL)])
    emit_rows(as_json, rows, _line, "No API tokens.")


@api_token_cli.command("revoke")
@click.argument("token_id", type=int)
@json_option
def revoke_command(token_id: int, as_json: bool) -> None:
    """Revoke token TOKEN_ID (its next request gets 401); audited."""
    def work(session):
        row = api_token_admin.get(session, token_id)
        api_token_admin.revoke(session, actor(), row)
        return api_token_admin.as_json(row)

    row = change(work)
    emit(as_json, row, f"Revoked token {row['id']} “{row['name']}” of {row['owner']}.")
