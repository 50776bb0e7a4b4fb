"""The mail log files of a stack, read for message tracking (as root, by the privileged helper).

The local stack's Postfix writes log/postfix.log through postlogd and Rspamd
log/rspamd.log; `stack logrotate` keeps older generations as NAME.log.1.gz (newest),
.2.gz, … A system install logs through syslog: Debian's /var/log/mail.log and
/var/log/rspamd/rspamd.log, rotated by logrotate as .1, .2.gz, …
"""
from __future__ import annotations

import gzip
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Iterator

from core.mail import maillog, maillog_counts

from .layout import Layout, SystemLayout, under_root

GENERATION = re.compile(r"\.(\d+)(?:\.gz)?$")


def sources(layout: Layout) -> tuple[Path, Path]:
    """The current Postfix and Rspamd log files."""
    if isinstance(layout, SystemLayout):
        return (under_root(layout.prefix, Path("/var/log/mail.log")),
                under_root(layout.prefix, Path("/var/log/rspamd/rspamd.log")))
    return layout.log_file("postfix"), layout.log_file("rspamd")


def generations(current: Path, since: datetime | None) -> list[Path]:
    """CURRENT and its rotated generations, oldest first, leaving out those last written
    before SINCE (none of their lines can be that recent)."""
    found = []
    for path in current.parent.glob(current.name + ".*"):
        number = GENERATION.search(path.name[len(current.name):])
        if number and path.name[len(current.name):] == number.group(0):
            found.append((int(number.group(1)), path))
    ordered = [path for _n, path in sorted(found, reverse=True)]
    if current.exists():
        ordered.append(current)
    if since is None:
        return ordered
    return [path for path in ordered if _mtime(path) >= since]


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(os.stat(path).st_mtime)


def read(path: Path) -> Iterator[str]:
    """The lines of one log file, gzipped or not (bytes that are not UTF-8 replaced)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as stream:
            yield from stream
    except FileNotFoundError:  # rotated away meanwhile
        return


def postfix_lines(layout: Layout, since: datetime | None) -> Iterator[maillog.Line]:
    """Postfix's lines from SINCE on, oldest first, across its generations."""
    for path in generations(sources(layout)[0], since):
        yield from maillog.lines(read(path), _mtime(path), since)


def rspamd_lines(layout: Layout, since: datetime | None) -> Iterator[str]:
    """Rspamd's scan summaries (lines of other kinds are skipped unparsed)."""
    for path in generations(sources(layout)[1], since):
        yield from (line for line in read(path) if "rspamd_task_write_log" in line)


def track(layout: Layout, query: str, since: datetime | None, senders: list[str] | None,
          limit: int) -> list[maillog.Tracked]:
    """The messages QUERY names (see maillog.search), newest first."""
    messages = maillog.build(postfix_lines(layout, since), rspamd_lines(layout, since))
    return maillog.search(messages, query, since, senders, limit)


def tally(layout: Layout, since: datetime) -> maillog_counts.Tally:
    """Messages received, sent and rejected from SINCE on."""
    total = maillog_counts.Tally()
    for path in generations(sources(layout)[0], since):
        part = maillog_counts.tally(read(path), _mtime(path), since)
        total.received += part.received
        total.sent += part.sent
        total.rejected += part.rejected
    return total
