"""Where the stack's templates are, and how it writes the files rendered from them."""
from __future__ import annotations

import os
from pathlib import Path

from . import perms

TEMPLATES = Path(__file__).resolve().parent / "templates"


def write_file(path: Path, text: str, mode: int, group: str | None = None) -> bool:
    """Atomically replace PATH with TEXT (root-owned, MODE, GROUP) if it differs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.read_text(encoding="utf-8") == text:
            perms.set_owner(path, mode, None, group)
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    perms.set_owner(tmp, mode, None, group)
    os.replace(tmp, path)
    return True
