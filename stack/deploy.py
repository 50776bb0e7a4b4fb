"""Where the unprivileged web app runs its code from.

The web app runs as the mailroom user, who must read the code and run the
virtualenv's python. A checkout in a private folder (a clone in /root, mode 0700) is
not readable by that user, and loosening /root is not ours to do: then the app runs
from a copy in DATA_DIR/app, brought up to date from the checkout every time it is
asked for (the files git knows, and the virtualenv when requirements.txt changed).
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from . import perms
from .errors import StackError

log = logging.getLogger(__name__)
SKIP = {".git", ".venv", "var", "__pycache__", ".pytest_cache"}
STAMP = ".requirements.sha256"  # written by stack/bootstrap.sh after each pip install


def app_home(root: Path, data_dir: Path, user: str = perms.APP_USER) -> Path:
    """ROOT when USER can run the app from it, else DATA_DIR/app, synced from ROOT now."""
    if runnable_by(root, user):
        return root
    target = data_dir / "app"
    sync(root, target)
    return target


def runnable_by(root: Path, user: str) -> bool:
    """Whether USER can reach ROOT, read its code and run its virtualenv's python."""
    python = (root / ".venv" / "bin" / "python").resolve()
    reachable = all(perms.can_access(p, user, os.X_OK) for p in (*root.parents, root))
    return (reachable and perms.can_access(root / "app.py", user, os.R_OK)
            and python.exists() and all(perms.can_access(p, user, os.X_OK)
                                        for p in (*python.parents, python)))


def sync(root: Path, target: Path) -> None:
    """Make TARGET a root-owned, world-readable copy of ROOT's code and virtualenv."""
    perms.ensure_dir(target.parent, 0o755)
    perms.ensure_dir(target, 0o755)
    wanted = set(_files(root))
    for name in sorted(wanted):
        _copy_if_changed(root / name, target / name)
    for path in sorted(target.rglob("*"), reverse=True):
        name = path.relative_to(target).as_posix()
        if name.split("/")[0] == ".venv" or name in wanted:
            continue
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif not any(w.startswith(name + "/") for w in wanted):
            path.unlink()
    _sync_venv(root / ".venv", target / ".venv")
    log.info("the web app runs from %s (a copy of %s)", target, root)


def _files(root: Path) -> list[str]:
    """The files of the checkout: tracked and untracked but not ignored (git), else a walk."""
    try:
        listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], capture_output=True, check=True, timeout=60)
        names = [n for n in listed.stdout.decode().split("\0") if n]
    except (OSError, subprocess.SubprocessError):
        names = [p.relative_to(root).as_posix() for p in root.rglob("*")
                 if p.is_file() and not SKIP & set(p.relative_to(root).parts)]
    return [n for n in names if (root / n).is_file() and not SKIP & set(Path(n).parts)]


def _copy_if_changed(source: Path, dest: Path) -> None:
    st = source.stat()
    try:
        current = dest.stat()
        if (current.st_size, int(current.st_mtime)) == (st.st_size, int(st.st_mtime)):
            return
    except FileNotFoundError:
        pass
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    shutil.copy2(source, dest)
    dest.chmod(0o755 if st.st_mode & 0o100 else 0o644)


def _sync_venv(source: Path, dest: Path) -> None:
    """Copy the virtualenv when its requirements stamp differs (a venv runs from a copy:
    its python finds pyvenv.cfg beside itself; we never use its scripts' shebangs)."""
    source = source.resolve()
    if not (source / STAMP).is_file():
        raise StackError(f"no virtualenv at {source}: run `bash stack/demo.sh` (it makes one)")
    if dest.is_dir() and (dest / STAMP).is_file() and \
            (dest / STAMP).read_bytes() == (source / STAMP).read_bytes():
        return
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(source, dest, symlinks=True)
    log.info("copied the virtualenv to %s", dest)
