"""`flask --app app settings show|set KEY VALUE [--json]`: the mail server's own settings.

`set` checks the value, stores it (audited as `cli:USER`), has `postfix check` and
`doveconf` read the resulting configuration and reloads the daemon(s) that read it; a
value they refuse is undone. `master-password --password-stdin` stores the master
user's password (hashed; Dovecot reads it live).
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.cli_common import actor, fail, read_password
from core.cli_output import emit, json_option
from core.db import db
from core.services.errors import ServiceError
from core.services.server import master_user, settings

settings_cli = AppGroup("settings", help="The mail server's own settings (Admin → Server).")
SWITCH_KEYS = ("relay-trusted-networks", "auth-on-port-25", "deleted-to-trash", "allow-unencrypted",
               "antivirus", "block-executables", "block-archives", "master-user")


def _shown(key: str, value: object) -> str:
    """A value as the plain-text output shows it."""
    if key in SWITCH_KEYS:
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(value) or "(none)"
    return str(value) if value != "" else "(none)"


def _by_key(values: dict) -> dict:
    """Column-keyed VALUES under the command line's KEY names."""
    return {key: values[column] for key, column in settings.KEYS.items() if column in values}


@settings_cli.command("show")
@json_option
def show_command(as_json: bool) -> None:
    """Every server setting and its value."""
    with db.factory() as session:
        values = _by_key(settings.current(session, dict(current_app.config)).values())
    emit(as_json, values, "\n".join(f"{key}: {_shown(key, value)}" for key, value in values.items()))


@settings_cli.command("set")
@click.argument("key", type=click.Choice(list(settings.KEYS)))
@click.argument("value")
@json_option
def set_command(key: str, value: str, as_json: bool) -> None:
    """Set KEY to VALUE ('' clears always-bcc, helo-name, relay-networks and block-types;
    on/off for switches)."""
    try:
        with db.factory() as session:
            outcome = settings.update(session, dict(current_app.config),
                                      {settings.KEYS[key]: value}, actor())
    except ServiceError as exc:
        fail(exc)
    changed = _by_key(outcome.changed)
    data = {"changed": changed, "live": not outcome.pending, "detail": outcome.detail or outcome.pending,
            "seconds": round(outcome.seconds, 2)}
    if not changed:
        text = f"{key} is already {_shown(key, value) if value else '(none)'}: nothing changed."
    elif outcome.pending:
        text = f"Saved {key}, but it is not live yet: {outcome.pending}"
    else:
        daemons = " and ".join(settings.reloaded(outcome.changed))
        text = f"Saved {key}: {_shown(key, changed[key])}. {daemons} reloaded ({outcome.seconds:.1f} s)."
    emit(as_json, data, text)


@settings_cli.command("master-password")
@click.option("--password-stdin", is_flag=True, required=True,
              help="Read the master password from standard input (one line).")
@json_option
def master_password_command(password_stdin: bool, as_json: bool) -> None:
    """Set the master user's password (IMAP/POP3 login ADDRESS*root while master-user is on)."""
    password = read_password()
    try:
        with db.factory() as session:
            replaced = master_user.set_password(session, password, actor())
            enabled = settings.current(session, dict(current_app.config)).master_user
    except ServiceError as exc:
        fail(exc)
    state = "on" if enabled else "off (`settings set master-user on` turns it on)"
    emit(as_json, {"replaced": replaced, "master_user": enabled},
         f"Master password {'replaced' if replaced else 'set'}; the master user is {state}.")
