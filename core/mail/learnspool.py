"""The Junk-training queue on disk: what Dovecot's pipe program wrote, and what came of it.

Layout (STACK_DIR/spool/learn, owned by the mail uid that Dovecot's IMAP processes run as):

    tmp/                 entries being written (then renamed: a reader never sees half)
    new/<ns>.<pid>.<rand>.<spam|ham>
                         one learn request: a JSON line {"kind", "user", "queued"},
                         then the message exactly as Dovecot piped it
    state.json           the queue worker's report: last error, recent outcomes, totals

The writer is stack/templates/dovecot/imapsieve/mailroom-learn (standard library only,
run by Dovecot); the reader is the queue worker (stack/learnd) and the status pages.
"""
from __future__ import annotations

import json
import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("spam", "ham")
ENTRY_NAME = re.compile(r"^[0-9]{1,20}\.[0-9]{1,10}\.[0-9a-f]{1,32}\.(spam|ham)$")
# Outcomes kept in state.json for the status pages (newest last).
RECENT = 200
# A header line longer than this is not ours.
MAX_HEADER = 4096


class BadEntry(Exception):
    """A spool file that is not a learn request this queue wrote; it is set aside."""


@dataclass(frozen=True)
class Entry:
    """One learn request, e.g. Entry(path, 'spam', 'anna@example.test', 1764140000.2, b'...')."""

    path: Path
    kind: str
    user: str
    queued: float
    raw: bytes


@dataclass
class State:
    """The worker's report; written by the worker only, read by everyone."""

    last_error: str = ""
    last_error_at: float | None = None
    last_success_at: float | None = None
    failures: int = 0  # consecutive failed attempts (0: the queue is moving)
    next_try_at: float | None = None
    totals: dict[str, int] = field(default_factory=dict)
    recent: list[dict] = field(default_factory=list)

    def record(self, entry: Entry, outcome: str, detail: str = "") -> None:
        """Remember what became of ENTRY (learned, already learned, skipped, refused)."""
        self.totals[outcome] = self.totals.get(outcome, 0) + 1
        self.recent.append({"at": time.time(), "queued": entry.queued, "user": entry.user,
                            "kind": entry.kind, "outcome": outcome, "detail": detail})
        del self.recent[:-RECENT]


class Spool:
    """The queue directory ROOT."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.tmp, self.new = self.root / "tmp", self.root / "new"
        self.state_file = self.root / "state.json"

    def names(self) -> list[str]:
        """Waiting entries' file names, oldest first (names start with the time)."""
        try:
            return sorted(name for name in os.listdir(self.new) if not name.startswith("."))
        except FileNotFoundError:
            return []

    def length(self) -> int:
        """How many learn requests wait."""
        return len(self.names())

    def read(self, name: str, owner: int | None = None) -> Entry:
        """Read entry NAME; BadEntry if it is not a regular file of OWNER in our format.

        The worker reads a directory the mail uid writes: no symlink is followed and a
        file of another owner is refused, so nothing else on the machine can be sent.
        """
        if not ENTRY_NAME.match(name):
            raise BadEntry(f"unexpected file name {name!r}")
        path = self.new / name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            raise BadEntry(f"cannot open {name}: {exc}") from exc
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or (owner is not None and info.st_uid != owner):
                raise BadEntry(f"{name} is not a regular file of the mail user")
            header, raw = handle.readline(MAX_HEADER), handle.read()
        return _parse(path, name, header, raw)

    def remove(self, name: str) -> None:
        """Forget entry NAME (it was learned, or can never be)."""
        try:
            os.unlink(self.new / name)
        except FileNotFoundError:
            pass

    def enqueue(self, kind: str, user: str, raw: bytes) -> str:
        """Add a learn request as the pipe program does (tests, and learning by hand)."""
        if kind not in KINDS:
            raise ValueError(f"cannot queue {kind!r}")
        name = f"{time.time_ns()}.{os.getpid()}.{os.urandom(4).hex()}.{kind}"
        header = json.dumps({"kind": kind, "user": user, "queued": time.time()}).encode()
        fd = os.open(self.tmp / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(header + b"\n" + raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(self.tmp / name, self.new / name)
        return name

    def read_state(self) -> State:
        """The worker's last report (an empty one if it wrote none yet)."""
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return State()
        known = State.__dataclass_fields__
        return State(**{key: value for key, value in data.items() if key in known})

    def write_state(self, state: State) -> None:
        """Replace state.json atomically (readers never see half a file)."""
        tmp = self.root / ".state.json.tmp"
        tmp.write_text(json.dumps(state.__dict__), encoding="utf-8")
        tmp.chmod(0o644)
        os.replace(tmp, self.state_file)


def _parse(path: Path, name: str, header: bytes, raw: bytes) -> Entry:
    """The Entry for a file's header line and message."""
    try:
        meta = json.loads(header)
        kind, user, queued = meta["kind"], str(meta["user"]), float(meta["queued"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadEntry(f"{name} has no valid header line") from exc
    if kind not in KINDS or not name.endswith("." + kind):
        raise BadEntry(f"{name} names no known class")
    return Entry(path, kind, user, queued, raw)
