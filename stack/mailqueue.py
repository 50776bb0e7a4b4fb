"""Postfix's queue of the local stack: list it, read a message's headers, flush, delete.

These run Postfix's own tools on the stack's configuration directory and need root
(a non-default `-c` directory is refused to anyone else, and `postcat`/`postsuper`
read and change the spool): the web app reaches them through the privileged helper's
queue operations (stack/privileged.py). Only our configuration directory and queue
ids that passed `valid_queue_id` ever reach an argv; many ids go on stdin.
"""
from __future__ import annotations

import json
import os
import re
import subprocess

from .errors import StackError
from .layout import Layout

TIMEOUT = 30
MAX_HEADERS = 256 * 1024  # a header block longer than this is cut (and says so)
# Postfix's two queue id forms: short, hex digits of the time's microseconds and the
# file's inode (e.g. "A9B57263678"); long (`enable_long_queue_ids`), the time in ten
# base-52 digits (digits and consonants), a "z", the inode in base 51 (no "z").
QUEUE_ID = re.compile(r"[0-9A-F]{6,20}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10}z"
                      r"[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y]{1,12}")
QUEUES = ("active", "deferred", "hold", "incoming", "maildrop")


def valid_queue_id(value: object) -> bool:
    """Whether VALUE is a Postfix queue id (never "ALL", "-" or an option)."""
    return isinstance(value, str) and QUEUE_ID.fullmatch(value) is not None


def _run(layout: Layout, tool: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    try:
        return subprocess.run([tool, "-c", str(layout.postfix_etc), *args], input=stdin,
                              capture_output=True, text=True, errors="replace",
                              timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(f"{tool} could not run: {exc}") from exc


def entries(layout: Layout) -> list[dict]:
    """Every queued message as `postqueue -j` describes it, e.g.

    [{'queue_name': 'deferred', 'queue_id': 'A9B57263678', 'arrival_time': 1796423749,
      'message_size': 332, 'sender': 'ann@x', 'recipients': [{'address': 'bob@y',
      'delay_reason': 'connect to 127.0.0.1[127.0.0.1]:9: Connection refused'}], ...}]
    """
    result = _run(layout, "postqueue", "-j")
    if result.returncode != 0:
        raise StackError(f"Postfix did not list its queue: {result.stderr.strip()}")
    found = []
    for line in result.stdout.splitlines():
        if line.strip():
            try:
                found.append(json.loads(line))
            except ValueError:  # a line cut by a message leaving mid-listing
                continue
    return found


def matching(found: list[dict], sender: str = "", recipient: str = "") -> list[dict]:
    """The entries whose sender / some recipient contains SENDER / RECIPIENT (any case),
    newest first."""
    sender, recipient = sender.lower(), recipient.lower()
    chosen = [e for e in found
              if sender in str(e.get("sender", "")).lower()
              and (not recipient or any(recipient in str(r.get("address", "")).lower()
                                        for r in e.get("recipients", [])))]
    return sorted(chosen, key=lambda e: (-int(e.get("arrival_time") or 0), e.get("queue_id", "")))


def counts(found: list[dict]) -> dict[str, int]:
    """How many entries each queue holds, e.g. {'active': 0, 'deferred': 12, 'hold': 1, ...}."""
    totals = dict.fromkeys(QUEUES, 0)
    for entry in found:
        name = str(entry.get("queue_name", ""))
        totals[name] = totals.get(name, 0) + 1
    return totals


def page(layout: Layout, sender: str, recipient: str, offset: int, limit: int) -> dict:
    """One page of the queue, newest first, filtered, with every queue's count, e.g.
    {'total': 1, 'counts': {'deferred': 1, ...}, 'entries': [{...}]} (total: after filtering)."""
    found = entries(layout)
    chosen = matching(found, sender, recipient)
    return {"total": len(chosen), "counts": counts(found), "entries": chosen[offset:offset + limit]}


def queued(layout: Layout, queue_id: str) -> bool:
    """Whether QUEUE_ID is in the queue now."""
    return any(entry.get("queue_id") == queue_id for entry in entries(layout))


def queue_files(layout: Layout) -> dict[str, int]:
    """How many messages each queue holds, counted from its directory (a thousandth of
    `postqueue -j`'s cost at 1,000 messages): {'active': 0, 'deferred': 12, 'hold': 1, ...}."""
    return {name: _files(layout.queue / name) for name in QUEUES}


def _files(directory) -> int:
    try:
        with os.scandir(directory) as found:
            return sum(_files(e.path) if e.is_dir(follow_symlinks=False) else e.is_file(follow_symlinks=False)
                       for e in found)
    except FileNotFoundError:
        return 0


def headers(layout: Layout, queue_id: str) -> str | None:
    """The header block of a queued message (`postcat -hq`), None when it is not queued."""
    result = _run(layout, "postcat", "-hq", queue_id)
    if result.returncode != 0:
        if "No such file" in result.stderr or "open queue file" in result.stderr:
            return None
        raise StackError(f"postcat failed: {result.stderr.strip()}")
    text = result.stdout
    if len(text) > MAX_HEADERS:
        text = text[:MAX_HEADERS] + "\n[… cut here: the headers go on]\n"
    return text


def flush(layout: Layout, queue_id: str | None = None) -> None:
    """Attempt delivery of one queued message now (`postqueue -i`), or of all (`-f`)."""
    result = _run(layout, "postqueue", *(("-i", queue_id) if queue_id else ("-f",)))
    if result.returncode != 0:
        raise StackError(f"Postfix did not flush its queue: {result.stderr.strip()}")


class QueueChanged(StackError):
    """The queue no longer holds the number of messages a "delete all" was confirmed for."""


def delete_all(layout: Layout, expected: int | None = None) -> int:
    """Delete every message queued now (none when EXPECTED is given and the queue holds
    another number: QueueChanged); messages arriving meanwhile are not touched."""
    queue_ids = [e["queue_id"] for e in entries(layout) if valid_queue_id(e.get("queue_id"))]
    if expected is not None and expected != len(queue_ids):
        raise QueueChanged(f"The queue holds {len(queue_ids)} message(s) now, not {expected}: "
                           f"nothing was deleted. Look at the queue again before deleting.")
    return delete(layout, queue_ids)


def delete(layout: Layout, queue_ids: list[str]) -> int:
    """Delete the messages QUEUE_IDS (`postsuper -d -`, the ids on stdin); how many were."""
    if not queue_ids:
        return 0
    result = _run(layout, "postsuper", "-d", "-", stdin="".join(f"{i}\n" for i in queue_ids))
    deleted = re.search(r"Deleted: (\d+) message", result.stderr + result.stdout)
    if result.returncode != 0 or not deleted:
        raise StackError(f"postsuper did not delete: {result.stderr.strip()}")
    return int(deleted.group(1))
