"""`flask stack up|down|status`: the local mail stack from the app's configuration."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from core.cli_output import emit, json_option

from .errors import StackError

stack_cli = AppGroup("stack", help="Run the local mail server (Postfix, Dovecot, Rspamd, Redis).")


def _config() -> dict:
    """The stack-relevant settings: the app copies load_config() into app.config."""
    return dict(current_app.config)


def _fail(exc: StackError) -> None:
    """Print a StackError's message without a traceback and exit non-zero."""
    raise click.ClickException(str(exc))


def _report(step, as_json: bool) -> None:
    """Run STEP(config) and print the lines it returns (--json: {"lines": [...]})."""
    try:
        lines = step(_config())
    except StackError as exc:
        _fail(exc)
    emit(as_json, {"lines": lines}, "\n".join(lines))


@stack_cli.command("up")
@json_option
def up_command(as_json: bool) -> None:
    """Install what is missing, render configs, start the daemons and wait for them."""
    from .manager import up

    _report(up, as_json)


@stack_cli.command("app-home")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document.")
def app_home_command(as_json: bool) -> None:
    """Print the folder the web app runs from as the mailroom user.

    The checkout itself when that user can read it, else a copy under DATA_DIR/app,
    brought up to date now.
    """
    from core.config import ROOT

    from .deploy import app_home

    try:
        home = app_home(ROOT, Path(_config()["DATA_DIR"]))
    except StackError as exc:
        _fail(exc)
    click.echo(json.dumps({"app_home": str(home)}) if as_json else str(home))


@stack_cli.command("install")
@click.option("--system", "system", is_flag=True, required=True,
              help="The system install: Debian's own daemons on the standard ports.")
@click.option("--cert", type=click.Path(path_type=Path), required=True,
              help="TLS certificate chain (Let's Encrypt: /etc/letsencrypt/live/HOST/fullchain.pem).")
@click.option("--key", type=click.Path(path_type=Path), required=True,
              help="Its private key (Let's Encrypt: /etc/letsencrypt/live/HOST/privkey.pem).")
@click.option("--root", "root_dir", type=click.Path(path_type=Path), default=Path("/"),
              show_default=True, help="Install into this root instead (every path in the files starts with it).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document.")
def install_command(system: bool, cert: Path, key: Path, root_dir: Path, as_json: bool) -> None:
    """Configure this machine's Postfix, Dovecot, Rspamd and Redis and Mailroom's units."""
    from core.config import ROOT

    from .sysinstall import install

    try:
        lines = install(_config(), cert.resolve(), key.resolve(), root_dir.resolve(), ROOT)
    except StackError as exc:
        _fail(exc)
    click.echo(json.dumps({"lines": lines}) if as_json else "\n".join(lines))


@stack_cli.command("down")
@json_option
def down_command(as_json: bool) -> None:
    """Stop the daemons this stack started."""
    from .manager import down

    _report(down, as_json)


@stack_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document.")
def status_command(as_json: bool) -> None:
    """Show whether each service answers on its port."""
    from .status import status, status_json

    try:
        if as_json:
            click.echo(json.dumps(status_json(_config()), indent=2))
            return
        for s in status(_config()):
            state = ("answers" if s.port or s.host else "runs") if s.answers else "DOWN"
            pid = f"pid {s.pid}" if s.pid else "not started by us"
            where = f"{s.host}:{s.port}" if s.port else s.host or "(no port)"
            click.echo(f"{s.name:<12} {where:<22} {state:<8} {pid}" + (f"\n  {s.detail}" if s.detail else ""))
    except StackError as exc:
        _fail(exc)


@stack_cli.command("logrotate")
@click.option("--force", is_flag=True, help="Rotate every log that is not empty, whatever its size.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document.")
def logrotate_command(force: bool, as_json: bool) -> None:
    """Rotate the stack's logs larger than MAILROOM_LOG_ROTATE_MB (the worker does it every minute)."""
    from .layout import Layout
    from .logs import rotate, limits

    try:
        limit, keep = limits(_config())
        done = rotate(Layout.from_config(_config()), 0 if force else limit, keep)
    except (StackError, OSError) as exc:
        _fail(StackError(str(exc)))
    if as_json:
        click.echo(json.dumps({"limit_bytes": limit, "keep": keep,
                               "rotated": [vars(r) for r in done]}, indent=2))
        return
    for r in done:
        click.echo(f"{r.name + '.log':<16} {r.size / 1048576:8.1f} MiB rotated in {r.seconds:.2f} s")
    if not done:
        click.echo(f"No log is larger than {limit // 1048576} MiB.")
