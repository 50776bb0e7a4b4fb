"""How long `stack up` and `down` take with the packages installed (cold and warm).

Run: python -m bench.stack_up
"""
from __future__ import annotations

import time

from stack import manager

from .common import config, scratch_overrides


def main() -> None:
    """Print the times of a first up (fresh dir), down, a second up (caches kept), down."""
    overrides = scratch_overrides()
    figures = []
    for label in ("first up (fresh directory)", "down", "second up (Rspamd cache kept)", "down"):
        cfg = config(overrides)
        start = time.perf_counter()
        (manager.down if label == "down" else manager.up)(cfg)
        figures.append((label, time.perf_counter() - start))
    for label, seconds in figures:
        print(f"{label:<32} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
