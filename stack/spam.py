"""The spam filter's part of the stack: settings from the database, maps, Junk training.

`render_all` calls `template_values` (Rspamd's thresholds, stored by the admin page)
and `after_render`, which writes the address-rule maps Rspamd watches, prepares the
training queue and compiles the IMAPSieve scripts. Both read the stored settings
through core.models, never the services (which call this module to apply them).
SQLAlchemy is imported late, as in the rest of stack/.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from . import learnd, perms
from .files import write_file
from .layout import Layout
from .sieve import compile_folder

if TYPE_CHECKING:
    from core.models.spam import FilterSettings

log = logging.getLogger(__name__)
MAP_NAMES = tuple(f"{kind}{suffix}" for kind in ("block_from", "allow_from", "allow_to")
                  for suffix in ("", "_domain"))


def maps_dir(layout: Layout) -> Path:
    """Where the Block From / Allow From / Allow To maps live."""
    return layout.rspamd_etc / "maps"


def imapsieve_dir(layout: Layout) -> Path:
    """Where the Junk-training Sieve scripts live (compiled by `stack up`)."""
    return layout.sieve / "imapsieve"


def paths(layout: Layout) -> dict:
    """The template values that are paths (map files, queue, worker files)."""
    values = {f"map_{name}": maps_dir(layout) / f"{name}.map" for name in MAP_NAMES}
    values.update({
        "imapsieve_dir": imapsieve_dir(layout),
        "learn_spool": learnd.spool_dir(layout),
        "learnd_password_file": learnd.password_file(layout),
        "learnd_pidfile": learnd.pidfile(layout),
    })
    return values


def action_values(settings: FilterSettings) -> dict[str, str]:
    """Values for stack/templates/rspamd/local.d/actions.conf."""
    actions = settings.rspamd_actions()
    number = {name: "null" if value is None else repr(float(value))
              for name, value in actions.items()}
    return {
        "spam_greylist": number["greylist"], "spam_add_header": number["add header"],
        "spam_rewrite_subject": number["rewrite subject"], "spam_reject": number["reject"],
        # Rspamd puts the original subject where %s is.
        "spam_subject": f"{settings.subject_prefix or '***SPAM***'} %s",
    }


def template_values(layout: Layout) -> dict:
    """Rspamd's action thresholds and subject as the admin stored them."""
    from core.db import transaction_at
    from core.models.spam import filter_settings

    with transaction_at(layout.url) as session:
        settings = filter_settings(session)
    return {**action_values(settings), **paths(layout)}


def after_render(layout: Layout, rspamd_password: str) -> None:
    """Maps from the database, the queue directories, the worker's password, Sieve binaries."""
    from core.db import transaction_at
    from core.models.spam import map_contents

    with transaction_at(layout.url) as session:
        write_maps(layout, map_contents(session))
    prepare_queue(layout)
    write_file(learnd.password_file(layout), rspamd_password + "\n", 0o600)
    compile_scripts(layout)


def write_maps(layout: Layout, contents: dict[str, str]) -> None:
    """Replace each map file whose content changed (atomically: Rspamd rereads on change)."""
    perms.ensure_dir(maps_dir(layout), 0o755)
    for name in MAP_NAMES:
        if write_file(maps_dir(layout) / f"{name}.map", contents.get(name, ""), 0o644):
            log.info("rewrote Rspamd map %s", name)


def prepare_queue(layout: Layout) -> None:
    """The spool the mail uid writes into: listable by all (the pages count it)."""
    root = learnd.spool_dir(layout)
    for path in (root, root / "tmp", root / "new"):
        perms.ensure_dir(path, 0o755, perms.MAIL_USER, perms.MAIL_USER)


def compile_scripts(layout: Layout) -> None:
    """Compile the IMAPSieve scripts whose binary is missing or older than the script."""
    folder = imapsieve_dir(layout)
    stale = [s for s in folder.glob("*.sieve")
             if not s.with_suffix(".svbin").exists()
             or s.with_suffix(".svbin").stat().st_mtime < s.stat().st_mtime]
    if stale:
        compile_folder(layout, folder)

