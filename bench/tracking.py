"""Message tracking over a big mail log: today's counts (the dashboard) and one search.

Builds a Postfix log of N lines (default 100,000) from the lines the stack really wrote
(tests/unit/maillog_samples), each copy with fresh queue ids, spread over today, half in
the current file and half in a gzipped older generation, plus Rspamd's summaries; then
times what the privileged helper runs for `mail_counts` and `track`.
Run: python -m bench.tracking [N]
"""
from __future__ import annotations

import gzip
import os
import random
import re
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from stack import maillog
from stack.layout import Layout

SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "unit" / "maillog_samples"
QID = re.compile(r"\b[0-9A-F]{10,11}\b")


def synthetic(lines: int, day: datetime) -> tuple[list[str], list[str], str]:
    """(Postfix lines, Rspamd lines, a queue id near the end) for DAY."""
    postfix = (SAMPLES / "postfix.log").read_text().splitlines()
    rspamd = (SAMPLES / "rspamd.log").read_text().splitlines()
    out, verdicts, copy, last = [], [], 0, ""
    while len(out) < lines:
        copy += 1
        when = day + timedelta(seconds=int(86000 * len(out) / lines))
        stamp, iso = when.strftime("%b %d %H:%M:%S"), when.strftime("%Y-%m-%d %H:%M:%S")
        fresh = {}

        def renamed(match: re.Match) -> str:
            fresh.setdefault(match.group(0), f"{random.getrandbits(40):010X}")
            return fresh[match.group(0)]
        out += [stamp + QID.sub(renamed, line[15:]) for line in postfix]
        verdicts += [iso + QID.sub(renamed, line[19:]) for line in rspamd]
        last = next(iter(fresh.values()), last)
    return out[:lines], verdicts, last


def timed(work, runs: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        began = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - began)
    return best, result


def main(lines: int) -> None:
    day = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    postfix, rspamd, qid = synthetic(lines, day)
    with tempfile.TemporaryDirectory() as tmp:
        layout = Layout(root=Path(tmp), data_dir=Path(tmp), database=Path(tmp) / "db.sqlite")
        layout.log.mkdir()
        half = len(postfix) // 2
        with gzip.open(layout.log / "postfix.log.1.gz", "wt") as old:
            old.write("\n".join(postfix[:half]) + "\n")
        (layout.log / "postfix.log").write_text("\n".join(postfix[half:]) + "\n")
        (layout.log / "rspamd.log").write_text("\n".join(rspamd) + "\n")
        now = time.time()
        for path in layout.log.iterdir():
            os.utime(path, (now, now))
        size = sum(p.stat().st_size for p in layout.log.iterdir())
        print(f"{len(postfix)} Postfix lines ({half} gzipped), {len(rspamd)} Rspamd summaries, "
              f"{size / 1e6:.1f} MB on disk")
        seconds, counts = timed(lambda: maillog.tally(layout, day))
        print(f"today's counts (dashboard, mail_counts): {seconds * 1000:.0f} ms -> {counts}")
        seconds, found = timed(lambda: maillog.track(layout, qid, day, None, 200))
        print(f"track by queue id over the whole day: {seconds * 1000:.0f} ms -> {len(found)} message(s)")
        seconds, found = timed(lambda: maillog.track(layout, "", day, None, 200))
        print(f"track everything (newest 200) over the whole day: {seconds * 1000:.0f} ms")
        recent = datetime.now() - timedelta(hours=1)
        seconds, found = timed(lambda: maillog.track(layout, qid, recent, None, 200))
        print(f"track by queue id, --since one hour ago: {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
