"""`flask --app app dkim enable|show|disable|remove DOMAIN`: DKIM signing per domain.

The changes go through the same service as the domain page, and are audited as
`cli:USER`; they need the stack's worker (the privileged helper keeps the keys).
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.cli_common import actor, fail
from core.cli_output import emit, json_option
from core.db import db
from core.mail.errors import MailError
from core.services.directory import dkim, lookup
from core.services.errors import ServiceError

dkim_cli = AppGroup("dkim", help="DKIM signing of submitted mail, one key per domain.")


def _run(work):
    """WORK(session) in the app's session, committed; a refusal ends the command with its message."""
    try:
        result = work(db.session)
        db.session.commit()
    except (ServiceError, MailError) as exc:
        db.session.rollback()
        fail(exc)
    return result


def _lines(record: dkim.DkimRecord) -> str:
    """The record as people read it."""
    state = "on" if record.enabled else "off"
    if record.public_key is None:
        return f"DKIM signing of {record.domain}: {state}; no key yet."
    return (f"DKIM signing of {record.domain}: {state}\n"
            f"Publish this TXT record:\n{record.name}\n{record.txt}")


def _switch(domain: str, enabled: bool, as_json: bool) -> None:
    """Turn signing of DOMAIN on or off, then print its state."""
    record = _run(lambda s: dkim.set_signing(s, current_app.config, actor(),
                                             lookup.get_domain(s, domain), enabled))
    emit(as_json, record.as_json(), _lines(record))


@dkim_cli.command("enable")
@click.argument("domain")
@json_option
def dkim_enable(domain: str, as_json: bool) -> None:
    """Sign the domain's submitted mail (its key is created the first time)."""
    _switch(domain, True, as_json)


@dkim_cli.command("disable")
@click.argument("domain")
@json_option
def dkim_disable(domain: str, as_json: bool) -> None:
    """Stop signing the domain's mail; its key is kept."""
    _switch(domain, False, as_json)


@dkim_cli.command("show")
@click.argument("domain")
@json_option
def dkim_show(domain: str, as_json: bool) -> None:
    """Whether the domain's mail is signed, and the DNS record of its key."""
    record = _run(lambda s: dkim.status(current_app.config, lookup.get_domain(s, domain)))
    emit(as_json, record.as_json(), _lines(record))


@dkim_cli.command("remove")
@click.argument("domain")
@click.option("--yes", is_flag=True, required=True,
              help="Confirm: the key is deleted, and its published DNS record signs nothing.")
@json_option
def dkim_remove(domain: str, yes: bool, as_json: bool) -> None:
    """Delete the domain's key (signing must be off); enabling again makes a new one."""
    record = _run(lambda s: dkim.remove_key(s, current_app.config, actor(),
                                            lookup.get_domain(s, domain)))
    emit(as_json, record.as_json(), f"Removed the DKIM key of {record.domain}.")
