"""The length of Postfix's queue, asked from the running Postfix of the local stack."""
from __future__ import annotations

import subprocess

from .errors import StackError
from .layout import Layout

TIMEOUT = 10


def queue_length(cfg: dict) -> int:
    """Messages waiting in Postfix's queue (`postqueue -j`: one JSON object per message)."""
    etc = Layout.from_config(cfg).postfix_etc
    try:
        # Only our own config directory is on the command line: no user data.
        result = subprocess.run(
            ["postqueue", "-c", str(etc), "-j"], stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=TIMEOUT, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(f"postqueue could not run: {exc}") from exc
    if result.returncode != 0:
        raise StackError(f"Postfix did not list its queue: {result.stderr.strip()}")
    return sum(1 for line in result.stdout.splitlines() if line.strip())
