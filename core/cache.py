"""One small thread-safe LRU cache, bounded by the total size of what it holds.

Entries may carry a STATE (a folder's UIDVALIDITY/UIDNEXT/EXISTS, say): a lookup
with another state misses, so a cached answer is only used while it is still true.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable


class LruCache:
    """Values by key, least recently used first out once MAX_SIZE is exceeded."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._items: OrderedDict[Hashable, tuple[Any, Any, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, state: Any = None) -> Any:
        """The value cached under KEY at STATE, or None."""
        with self._lock:
            item = self._items.get(key)
            if item is None or item[1] != state:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: Any, state: Any = None, size: int = 1) -> None:
        """Cache VALUE (SIZE units) under KEY at STATE, replacing what KEY held."""
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[2]
            self._items[key] = (value, state, size)
            self._size += size
            while self._size > self.max_size and len(self._items) > 1:
                _, (_, _, dropped) = self._items.popitem(last=False)
                self._size -= dropped
