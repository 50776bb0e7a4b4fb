"""Which files of a running stack anyone on the machine can read a secret in."""
from __future__ import annotations

import stat
from pathlib import Path

from stack.layout import Layout

# Folders of mail, logs and Rspamd's compiled patterns: no configuration in them.
SKIPPED = ("mail", "log", "lib/rspamd")


def _others_may_read(path: Path) -> bool:
    """Whether a user who is neither the owner nor in the group can open PATH: it is
    readable by others and every folder above it lets others through."""
    if not path.stat().st_mode & stat.S_IROTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)


def world_readable_secrets(cfg: dict) -> dict[str, list[str]]:
    """{file under STACK_DIR: the secrets (by name of DATA_DIR/secrets/NAME) it holds}
    for each file anyone may read that holds one of the stack's secrets."""
    layout = Layout.from_config(cfg)
    secrets = {f.name: f.read_text(errors="replace").strip() for f in layout.secrets.iterdir()
               if f.is_file()}
    secrets = {name: value for name, value in secrets.items() if len(value) >= 12}
    root = Path(cfg["STACK_DIR"])
    skipped = [root / folder for folder in SKIPPED]
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*")):
        if (not path.is_file() or path.is_symlink() or any(path.is_relative_to(s) for s in skipped)
                or not _others_may_read(path)):
            continue
        text = path.read_text(errors="replace")
        held = [name for name, value in secrets.items() if value in text]
        if held:
            found[str(path.relative_to(root))] = held
    return found
