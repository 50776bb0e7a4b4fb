"""`flask --app app smarthost set|show|clear [--json]`: all mail for other domains through one host.

`set HOST:PORT [--tls none|starttls|ssl] [--username U --password-stdin]` describes the
whole smarthost: without --username it signs in with nothing. The password is read from
standard input (never an argument: argv is visible to every user of the machine), sealed
by the stack's privileged helper and never printed again. Changes are audited as
`cli:USER` and applied like the other server settings (`postfix check`, then reload).
"""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from core.cli_common import actor, fail
from core.cli_output import emit, json_option
from core.db import db
from core.services.errors import ServiceError
from core.services.server import smarthost

smarthost_cli = AppGroup("smarthost", help="The smarthost all mail for other domains goes through.")


def _text(shown: smarthost.Smarthost) -> str:
    """The smarthost as people read it."""
    if not shown.host:
        return "No smarthost: mail for other domains is sent directly."
    sign_in = (f"signs in as {shown.username} (a password is set)" if shown.password_set
               else "does not sign in")
    return f"Smarthost [{shown.host}]:{shown.port}, TLS {shown.tls}; {sign_in}."


def _report(as_json: bool, outcome) -> None:
    """Print the smarthost now stored, and whether the change is live."""
    with db.factory() as session:
        shown = smarthost.current(session, dict(current_app.config))
    data = {**shown.as_json(), "changed": sorted(outcome.changed), "live": not outcome.pending,
            "detail": outcome.detail or outcome.pending, "seconds": round(outcome.seconds, 2)}
    if not outcome.changed:
        note = "Nothing changed."
    elif outcome.pending:
        note = f"Saved, but not live yet: {outcome.pending}"
    else:
        note = f"Postfix reloaded ({outcome.seconds:.1f} s)."
    emit(as_json, data, f"{_text(shown)}\n{note}")


@smarthost_cli.command("show")
@json_option
def show_command(as_json: bool) -> None:
    """The smarthost (never its password: only whether one is set)."""
    with db.factory() as session:
        shown = smarthost.current(session, dict(current_app.config))
    emit(as_json, shown.as_json(), _text(shown))


@smarthost_cli.command("set")
@click.argument("destination", metavar="HOST:PORT")
@click.option("--tls", type=click.Choice(list(smarthost.TLS_LABELS)), default="starttls",
              show_default=True, help="ssl: TLS from the first byte (port 465).")
@click.option("--username", default="", help="Sign in with this user name (needs --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@json_option
def set_command(destination: str, tls: str, username: str, password_stdin: bool, as_json: bool) -> None:
    """Send all mail for other domains through HOST:PORT."""
    if bool(username) != password_stdin:
        fail(click.UsageError("--username and --password-stdin go together."))
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    cfg = dict(current_app.config)
    try:
        host, port = smarthost.split_destination(destination)
        texts = {"smarthost_host": host, "smarthost_port": port, "smarthost_tls": tls,
                 "smarthost_username": username}
        with db.factory() as session:
            outcome = smarthost.save(session, cfg, actor(), texts, password, sign_out=not username)
    except ServiceError as exc:
        fail(exc)
    _report(as_json, outcome)


@smarthost_cli.command("clear")
@json_option
def clear_command(as_json: bool) -> None:
    """Stop using a smarthost; its user name and password are removed."""
    try:
        with db.factory() as session:
            outcome = smarthost.clear(session, dict(current_app.config), actor())
    except ServiceError as exc:
        fail(exc)
    _report(as_json, outcome)
