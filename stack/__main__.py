"""`python -m stack install [--browser] | up | down | status [--json]`, for shell scripts.

`install` needs no app configuration; the other commands read it with load_config()
(MAILROOM_* environment variables), as the app does.
"""
from __future__ import annotations

import json
import logging

import click

from .errors import StackError


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what is being done.")
def main(verbose: bool) -> None:
    """The local mail stack of Mailroom."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")


def _config() -> dict:
    """The settings, as the app reads them (MAILROOM_* variables, secret files)."""
    from core.config import load_config

    return load_config()


def _run(action) -> None:
    """Run ACTION, printing its lines; a StackError becomes a message and exit code 1."""
    try:
        for line in action() or ():
            click.echo(line)
    except StackError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--browser", is_flag=True, help="Also Chromium and fonts for the browser tests.")
def install(browser: bool) -> None:
    """Install the missing Debian packages (root, apt-get)."""
    from .install import ensure_packages

    def action():
        """Install, then say what was done."""
        installed = ensure_packages(browser=browser)
        return [f"installed: {' '.join(installed)}"] if installed else ["all packages are installed"]

    _run(action)


@main.command()
def up() -> None:
    """Start the stack."""
    from .manager import up as stack_up

    _run(lambda: stack_up(_config()))


@main.command()
def down() -> None:
    """Stop the stack."""
    from .manager import down as stack_down

    _run(lambda: stack_down(_config()))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document.")
def status(as_json: bool) -> None:
    """Show whether each service answers."""
    from .status import status as stack_status, status_json

    if as_json:
        _run(lambda: [json.dumps(status_json(_config()), indent=2)])
    else:
        _run(lambda: [f"{s.name:<12} {s.host}:{s.port:<6} {'answers' if s.answers else 'DOWN'}"
                      for s in stack_status(_config())])


if __name__ == "__main__":
    main()
