"""`flask --app app directory test [--json]`: is the LDAP directory usable, and whom does it hold?

Binds as MAILROOM_LDAP_BIND_DN, counts the users (and the disabled ones) and groups the
filters match, and shows three users as Dovecot and Postfix will see them. Exits
non-zero, saying what is wrong, when the directory cannot be reached, refuses the bind or
the user filter matches nobody.
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.cli_output import emit, json_option
from core.ldapdir.client import DirectoryReport, check

directory_cli = AppGroup("directory", help="Users and groups from LDAP / Active Directory.")


def _text(report: DirectoryReport) -> str:
    """The report as people read it."""
    head = f"Directory {report.url} (schema {report.schema})"
    if report.problem:
        return f"{head}: {report.problem}"
    lines = [f"{head}: bound; {report.users} user(s), {report.disabled} of them disabled; "
             f"{report.groups} group(s)."]
    for user in report.samples:
        extra = f", also {', '.join(user.aliases)}" if user.aliases else ""
        access = "may sign in" if user.can_sign_in else "disabled: receives mail, cannot sign in"
        lines.append(f"  {user.address} ({user.name}){extra}; {access}; mail folder directory/{user.id}")
    return "\n".join(lines)


@directory_cli.command("test")
@json_option
def test_command(as_json: bool) -> None:
    """Bind, count users and groups, and show three users as the daemons see them."""
    cfg = dict(current_app.config)
    if cfg.get("ACCOUNT_PROVIDER") != "ldap":
        raise click.ClickException("MAILROOM_ACCOUNT_PROVIDER is not ldap: users come from the database only")
    report = check(cfg)
    emit(as_json, report.as_json(), _text(report))
    if report.problem:
        raise SystemExit(1)
