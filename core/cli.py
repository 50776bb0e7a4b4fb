"""`flask --app app ...` commands for scripting the server (part of the product's interface)."""
from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from core.db import db, upgrade
from core.services import demo, directory
from core.services.errors import ServiceError


def _emit(as_json: bool, data: dict, text: str) -> None:
    click.echo(json.dumps(data, sort_keys=True) if as_json else text)


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc))


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")

db_cli = AppGroup("db", help="The app's database.")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest migration."""
    upgrade(current_app.config["DATABASE_URL"])
    click.echo("Database is up to date.")


domain_cli = AppGroup("domain", help="Mail domains.")


@domain_cli.command("add")
@click.argument("name")
@json_option
def domain_add(name: str, as_json: bool) -> None:
    """Add a domain whose mail is delivered to local mailboxes."""
    try:
        with db.transaction() as session:
            domain = directory.add_domain(session, name)
    except ServiceError as exc:
        _fail(exc)
    _emit(as_json, {"domain": domain.name, "mode": domain.mode}, f"Added domain {domain.name}.")


mailbox_cli = AppGroup("mailbox", help="User mailboxes.")


@mailbox_cli.command("add")
@click.argument("address")
@click.option("--password-stdin", is_flag=True, required=True,
              help="Read the password from standard input (never from the command line).")
@click.option("--name", "display_name", default="", help="Display name.")
@json_option
def mailbox_add(address: str, password_stdin: bool, display_name: str, as_json: bool) -> None:
    """Add a mailbox; its password is read from standard input."""
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        with db.transaction() as session:
            mailbox = directory.add_mailbox(session, address, password, display_name)
    except ServiceError as exc:
        _fail(exc)
    _emit(as_json, {"address": mailbox.address, "enabled": mailbox.enabled},
          f"Added mailbox {mailbox.address}.")


alias_cli = AppGroup("alias", help="Aliases.")


@alias_cli.command("add")
@click.argument("address")
@click.argument("destinations", nargs=-1, required=True)
@json_option
def alias_add(address: str, destinations: tuple[str, ...], as_json: bool) -> None:
    """Add an alias (local@domain, or local@* for every domain) to one or more destinations."""
    try:
        with db.transaction() as session:
            alias = directory.add_alias(session, address, list(destinations))
            targets = [d.target for d in alias.destinations]
            shown = alias.address
    except ServiceError as exc:
        _fail(exc)
    _emit(as_json, {"alias": shown, "destinations": targets},
          f"Added alias {shown} -> {', '.join(targets)}.")


@click.command("demo")
@json_option
def demo_command(as_json: bool) -> None:
    """Create the demo domain and logins once, and print the logins."""
    try:
        logins = demo.ensure_demo(current_app.config)
    except ServiceError as exc:
        _fail(exc)
    _emit(as_json, {"logins": logins},
          "\n".join(f"  {l['role']:<6} {l['address']:<24} password: {l['password']}"
                    for l in logins))


commands = (db_cli, domain_cli, mailbox_cli, alias_cli, demo_command)
