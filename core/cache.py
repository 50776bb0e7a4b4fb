"""Small thread-safe LRU caches, bounded by the bytes they hold, under one budget.

Entries may carry a STATE (a folder's UIDVALIDITY/UIDNEXT/EXISTS, say): a lookup
with another state misses, so a cached answer is only used while it is still true.

The process has one memory budget in bytes (`set_budget`, MAILROOM_CACHE_MB); each
cache made by `share(fraction)` may hold that fraction of it, so all caches together
never hold more than the budget however many people are signed in.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable

DEFAULT_BUDGET = 64 * 1024 * 1024


class LruCache:
    """Values by key, least recently used first out once MAX_SIZE (bytes) is exceeded."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._items: OrderedDict[Hashable, tuple[Any, Any, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """What the entries held now add up to."""
        return self._size

    def get(self, key: Hashable, state: Any = None) -> Any:
        """The value cached under KEY at STATE, or None."""
        with self._lock:
            item = self._items.get(key)
            if item is None or item[1] != state:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: Any, state: Any = None, size: int = 1) -> None:
        """Cache VALUE (SIZE bytes) under KEY at STATE, replacing what KEY held.

        A value larger than the whole cache is not kept (it would push out everything).
        """
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[2]
            if size > self.max_size:
                return
            self._items[key] = (value, state, size)
            self._size += size
            self._trim()

    def resize(self, max_size: int) -> None:
        """Hold at most MAX_SIZE bytes from now on, dropping the oldest entries."""
        with self._lock:
            self.max_size = max_size
            self._trim()

    def _trim(self) -> None:
        while self._size > self.max_size and self._items:
            _, (_, _, dropped) = self._items.popitem(last=False)
            self._size -= dropped


class _Budget:
    """The process's cache budget and the caches sharing it."""

    def __init__(self) -> None:
        self.total = DEFAULT_BUDGET
        self.shares: list[tuple[LruCache, float]] = []
        self.lock = threading.Lock()


_budget = _Budget()


def share(fraction: float) -> LruCache:
    """A cache allowed FRACTION of the process's budget (now and after set_budget)."""
    with _budget.lock:
        allotted = sum(f for _, f in _budget.shares) + fraction
        if allotted > 1.0 + 1e-9:
            raise ValueError(f"cache shares would add up to {allotted:.2f} of the budget")
        cache = LruCache(int(_budget.total * fraction))
        _budget.shares.append((cache, fraction))
        return cache


def set_budget(total: int) -> None:
    """Let all shared caches together hold at most TOTAL bytes (each its fraction)."""
    with _budget.lock:
        _budget.total = total
        for cache, fraction in _budget.shares:
            cache.resize(int(total * fraction))
