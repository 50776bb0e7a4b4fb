"""Reusing IMAP connections across requests, per signed-in address.

imapclient is not thread-safe: a connection is checked out by one request at a
time. Each address keeps at most MAX_IDLE idle connections; connections idle
longer than IDLE_SECONDS are closed, so Dovecot's per-user limit is respected.
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from imapclient import IMAPClient

from . import imap

log = logging.getLogger(__name__)


class ConnectionPool:
    """Idle, logged-in IMAP connections keyed by address."""

    def __init__(self, idle_seconds: float = 120.0, max_idle: int = 2) -> None:
        self.idle_seconds = idle_seconds
        self.max_idle = max_idle
        self._idle: dict[str, list[tuple[float, IMAPClient]]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def connection(self, key: str, opener: Callable[[], IMAPClient]) -> Iterator[IMAPClient]:
        """Lend a connection for KEY, opening one with OPENER when none is idle."""
        client = self._take(key) or opener()
        try:
            yield client
        except BaseException:
            imap.close(client)  # its state is unknown after an error
            raise
        self.put(key, client)

    def put(self, key: str, client: IMAPClient) -> None:
        """Give a logged-in connection back (or hand over a fresh one) for reuse."""
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.max_idle:
                idle.append((time.monotonic(), client))
                return
        imap.close(client)

    def discard(self, key: str) -> None:
        """Close every idle connection of KEY (sign-out, password change, access removed)."""
        with self._lock:
            idle = self._idle.pop(key, [])
        for _, client in idle:
            imap.close(client)

    def _take(self, key: str) -> IMAPClient | None:
        self._reap()
        while True:
            with self._lock:
                idle = self._idle.get(key)
                if not idle:
                    return None
                _, client = idle.pop()
            if imap.is_alive(client):
                return client
            imap.close(client)

    def _reap(self) -> None:
        cutoff = time.monotonic() - self.idle_seconds
        stale = []
        with self._lock:
            for key in list(self._idle):
                keep = [(t, c) for t, c in self._idle[key] if t >= cutoff]
                stale += [c for t, c in self._idle[key] if t < cutoff]
                if keep:
                    self._idle[key] = keep
                else:
                    del self._idle[key]
        for client in stale:
            imap.close(client)
