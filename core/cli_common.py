"""What the command-line modules share: the audit actor, one transaction per change, clean exits.

Printing (text or --json) is in core/cli_output.py.
"""
from __future__ import annotations

import getpass
import sys

import click

from core.db import db
from core.services.errors import ServiceError
from core.services.access.roles import Roles

ALL = Roles(server=True)


def actor() -> str:
    """Who the audit log names for a command-line change."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def read_password() -> str:
    """One line of standard input (the password), without its line ending."""
    return sys.stdin.readline().rstrip("\r\n")


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
