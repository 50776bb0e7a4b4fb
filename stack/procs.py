"""Processes: pid records that survive our own exit, liveness, process trees, signals."""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Record:
    """A process we started: its pid and kernel start time (guards against pid reuse)."""

    pid: int
    start: int

    def alive(self) -> bool:
        """Whether this very process (same pid, same start time) still exists."""
        return start_time(self.pid) == self.start


def start_time(pid: int) -> int | None:
    """The start time of PID in clock ticks since boot, or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()
    # Field 22 of proc(5); fields[0] here is field 3 (state). A zombie is gone for us.
    return None if fields[0] == "Z" else int(fields[19])


def parent_pid(pid: int) -> int | None:
    """The parent of PID, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return int(raw.rsplit(")", 1)[1].split()[1])


def read_record(path: Path) -> Record | None:
    """The record stored at PATH, or None if missing or unreadable."""
    try:
        pid, start = path.read_text(encoding="ascii").split()
        return Record(int(pid), int(start))
    except (OSError, ValueError):
        return None


def write_record(path: Path, pid: int) -> Record | None:
    """Store PID (with its start time) at PATH; None if the process already exited."""
    start = start_time(pid)
    if start is None:
        return None
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{pid} {start}\n", encoding="ascii")
    os.replace(tmp, path)
    return Record(pid, start)


def read_pidfile(path: Path) -> int | None:
    """The pid a daemon wrote into its own pidfile, or None."""
    try:
        return int(path.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def tree(pid: int) -> list[Record]:
    """PID and all its descendants, as records."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = parent_pid(int(entry.name))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        start = start_time(current)
        if start is not None:
            found.append(Record(current, start))
        todo.extend(children.get(current, ()))
    return found


def terminate(record: Record, timeout: float = 15.0) -> bool:
    """SIGTERM a process, wait for it and its descendants; SIGKILL leftovers. True if all gone."""
    family = tree(record.pid)
    _signal(record, signal.SIGTERM)
    if _wait_gone(family, timeout):
        return True
    for member in family:
        if member.alive():
            _signal(member, signal.SIGKILL)
    return _wait_gone(family, 3.0)


def _signal(record: Record, signum: int) -> None:
    """Send SIGNUM to RECORD's process if it is still that process."""
    if record.alive():
        try:
            os.kill(record.pid, signum)
        except ProcessLookupError:
            pass


def _wait_gone(records: list[Record], timeout: float) -> bool:
    """Wait until none of RECORDS is alive; False on timeout."""
    deadline = time.monotonic() + timeout
    while any(r.alive() for r in records):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def send(record: Record, signum: int) -> None:
    """Send SIGNUM (e.g. SIGHUP to reload) to a recorded process."""
    _signal(record, signum)
