"""`python -m stack install [--browser]`: the Debian packages, before the app can be imported.

`flask --app app stack up|down|status` runs the stack; this module exists because
installing must work before the app's own dependencies (libmagic) are there.
"""
from __future__ import annotations

import logging

import click

from .errors import StackError


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what is being done.")
def main(verbose: bool) -> None:
    """The local mail stack of Mailroom."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")


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
    """Install the missing Debian packages (root, apt-get) and the web app's system user."""
    from . import perms
    from .install import ensure_packages

    def action():
        """Install, then say what was done."""
        installed = ensure_packages(browser=browser)
        # Files the tests and the stack create are owned by it from the first run on.
        perms.system_user(perms.APP_USER)
        return [f"installed: {' '.join(installed)}"] if installed else ["all packages are installed"]

    _run(action)


if __name__ == "__main__":
    main()
