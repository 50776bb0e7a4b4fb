"""`flask --app app backup create|restore FILE`: the directory's database, secrets and DKIM keys.

Mail is backed up with Dovecot's `doveadm backup` (README, "Backup and restore").
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from core.cli_common import fail
from core.cli_output import emit, json_option
from core.services.errors import ServiceError
from core.services.server import backup, restore

backup_cli = AppGroup("backup", help="Back up and restore the database, secrets and DKIM keys.")


def human_size(size: int) -> str:
    """1536 -> '1.5 KiB'."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


@backup_cli.command("create")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def create_command(file: Path, as_json: bool) -> None:
    """Write FILE (tar.gz, mode 0600): a consistent copy of the database, secrets, DKIM keys."""
    try:
        written = backup.create_backup(dict(current_app.config), file.absolute())
    except (ServiceError, OSError) as exc:
        fail(exc)
    counts = written.manifest["counts"]
    emit(as_json, {"file": str(written.path), "size": written.size, "manifest": written.manifest,
                   "seconds": round(written.seconds, 3)},
         f"Wrote {written.path} ({human_size(written.size)}): schema {written.manifest['revision']}, "
         f"{counts['domains']} domains, {counts['mailboxes']} mailboxes, "
         f"{counts['aliases']} aliases, in {written.seconds:.2f} s.")


@backup_cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace an existing database and secrets.")
@json_option
def restore_command(file: Path, yes: bool, as_json: bool) -> None:
    """Restore FILE into DATA_DIR (the stack must be down), then upgrade the schema."""
    try:
        done = restore.restore_backup(dict(current_app.config), file.absolute(), replace=yes)
    except (ServiceError, OSError) as exc:
        fail(exc)
    emit(as_json, {"file": str(file), "manifest": done.manifest, "revision": done.revision,
                   "secrets": done.secrets, "dkim_files": done.dkim_files},
         f"Restored {file} (taken {done.manifest['created']}): database at schema "
         f"{done.revision}, secrets {', '.join(done.secrets) or 'none'}, "
         f"{done.dkim_files} DKIM files. Start the stack with `flask --app app stack up`.")
