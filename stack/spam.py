"""The spam filter's part of the stack: settings from the database, maps, Junk training.

`render_all` calls `template_values` (Rspamd's thresholds, stored by the admin page)
and `after_render`, which writes the address-rule maps Rspamd watches, prepares the
training queue and compiles the IMAPSieve scripts. SQLAlchemy is imported late, as in
the rest of stack/.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from . import daemons, learnd, perms, procs
from .errors import StackError
from .layout import Layout

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


def template_values(layout: Layout) -> dict:
    """Rspamd's action thresholds and subject as the admin stored them."""
    from core.db import transaction_at
    from core.services import spam_filter

    with transaction_at(f"sqlite:///{layout.database}") as session:
        settings = spam_filter.get_settings(session)
    return {**settings.template_values(), **paths(layout)}


def after_render(layout: Layout, rspamd_password: str) -> None:
    """Maps from the database, the queue directories, the worker's password, Sieve binaries."""
    from core.db import transaction_at
    from core.services import spam_filter

    with transaction_at(f"sqlite:///{layout.database}") as session:
        write_maps(layout, spam_filter.map_contents(session))
    prepare_queue(layout)
    _write(learnd.password_file(layout), rspamd_password + "\n", 0o600)
    compile_scripts(layout)


def write_maps(layout: Layout, contents: dict[str, str]) -> None:
    """Replace each map file whose content changed (atomically: Rspamd rereads on change)."""
    perms.ensure_dir(maps_dir(layout), 0o755)
    for name in MAP_NAMES:
        if _write(maps_dir(layout) / f"{name}.map", contents.get(name, ""), 0o644):
            log.info("rewrote Rspamd map %s", name)


def _write(path: Path, text: str, mode: int) -> bool:
    from .render import write_file  # late: render imports this module

    return write_file(path, text, mode)


def prepare_queue(layout: Layout) -> None:
    """The spool the mail uid writes into: listable by all (the pages count it)."""
    root = learnd.spool_dir(layout)
    for path in (root, root / "tmp", root / "new"):
        perms.ensure_dir(path, 0o755, perms.MAIL_USER, perms.MAIL_USER)


def compile_scripts(layout: Layout) -> None:
    """Compile the IMAPSieve scripts whose binary is missing or older than the script."""
    from .sieve import compile_folder  # late: sieve imports render, which imports this module

    folder = imapsieve_dir(layout)
    stale = [s for s in folder.glob("*.sieve")
             if not s.with_suffix(".svbin").exists()
             or s.with_suffix(".svbin").stat().st_mtime < s.stat().st_mtime]
    if stale:
        compile_folder(layout, folder)


def reload_rspamd(cfg: dict, timeout: float = 30.0) -> None:
    """Re-render and reload Rspamd, returning once no worker of the old configuration runs.

    Rspamd answers SIGHUP by starting new workers and retiring the old ones when they
    are idle; until then an old milter worker could still scan the next message.
    """
    from .manager import reload  # late: manager imports render, which imports this module

    layout = Layout.from_config(cfg)
    master = daemons.running(layout, "rspamd")
    if master is None:
        raise StackError("Rspamd is not running; start the stack with `flask --app app stack up`")
    old = [r for r in procs.tree(master.pid) if r.pid != master.pid]
    reload(cfg, "rspamd")
    deadline = time.monotonic() + timeout
    while any(r.alive() for r in old):
        if time.monotonic() > deadline:
            raise StackError(f"Rspamd's old workers did not stop within {timeout:.0f} s")
        time.sleep(0.05)
