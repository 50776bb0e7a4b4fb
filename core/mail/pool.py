"""Reusing IMAP connections across requests, per signed-in address.

imapclient is not thread-safe: a connection is checked out by one request at a
time. Each address keeps at most MAX_IDLE idle connections; connections idle
longer than IDLE_SECONDS are closed, so Dovecot's per-user limit is respected.

A big folder keeps a connection of its own. Before a connection is lent it must show
its folder as it is now: a NOOP syncs it. But syncing a session that has a big folder
selected costs Dovecot a copy of the folder's whole index (memmove and memset: 6-15 ms
at 1,000,000 messages, on NOOP or any other command), while a STATUS costs ~0.3 ms.
STATUS of the selected folder answers from the session's last sync, STATUS of a folder
not selected from the index as it is now; so another idle connection of the same person
witnesses the folder's state, and when both say the same, nothing changed and no sync
is needed. Letting the big folder go (UNSELECT) was tried: the list page got as cheap,
but opening a message then SELECTs it again and took ~0.9 s at 1,000,000 (~25 ms on a
connection that kept it selected).
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from imapclient import IMAPClient

from . import imap
from .errors import MailError, ServiceUnavailable

log = logging.getLogger(__name__)
# Folders with more messages than this get a connection that stays selected in them.
BIG_FOLDER = 5000


class ConnectionPool:
    """Idle, logged-in IMAP connections keyed by address."""

    def __init__(self, idle_seconds: float = 120.0, max_idle: int = 4) -> None:
        self.idle_seconds = idle_seconds
        self.max_idle = max_idle
        self._idle: dict[str, list[tuple[float, IMAPClient]]] = {}
        self._big: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def connection(self, key: str, opener: Callable[[], IMAPClient],
                   folder: str | None = None) -> Iterator[IMAPClient]:
        """Lend a connection for KEY (preferably one with FOLDER open), or open one."""
        client = self._take(key, folder) or opener()
        try:
            yield client
        except BaseException as exc:
            # A refusal the server answered (NO/BAD) leaves the session usable; anything
            # else leaves it in an unknown state.
            if isinstance(exc, MailError) and not isinstance(exc, ServiceUnavailable):
                self.put(key, client)
            else:
                imap.close(client)
            raise
        self.put(key, client)

    def put(self, key: str, client: IMAPClient) -> None:
        """Give a logged-in connection back (or hand over a fresh one) for reuse.

        When the address has MAX_IDLE idle connections already, the one idle longest
        is closed, so the connections of the folders in use stay.
        """
        evicted = None
        with self._lock:
            if _holds_big_folder(client):
                self._big.setdefault(key, set()).add(client.selected[0])
            idle = self._idle.setdefault(key, [])
            idle.append((time.monotonic(), client))
            if len(idle) > self.max_idle:
                evicted = idle.pop(0)[1]
        if evicted is not None:
            imap.close(evicted)

    def discard(self, key: str) -> None:
        """Close every idle connection of KEY (sign-out, password change, access removed)."""
        with self._lock:
            idle = self._idle.pop(key, [])
            self._big.pop(key, None)
        for _, client in idle:
            imap.close(client)

    def close_all(self) -> None:
        """Close every idle connection (the server they belong to is going away)."""
        with self._lock:
            keys = list(self._idle)
        for key in keys:
            self.discard(key)

    def _take(self, key: str, folder: str | None) -> IMAPClient | None:
        self._reap()
        while True:
            with self._lock:
                idle = self._idle.get(key)
                index = self._pick(idle or [], folder, self._big.get(key, set()))
                if index is None:
                    return None
                _, client = idle.pop(index)
            if self._current(key, client) or imap.is_alive(client):
                return client
            imap.close(client)

    def _current(self, key: str, client: IMAPClient) -> bool:
        """True when CLIENT holds a big folder that another idle connection sees unchanged."""
        if not _holds_big_folder(client):
            return False
        folder = client.selected[0]
        with self._lock:
            idle = self._idle.get(key, [])
            index = next((i for i, (_, c) in enumerate(idle)
                          if (getattr(c, "selected", None) or (None,))[0] != folder), None)
            if index is None:
                return False
            _, witness = idle.pop(index)
        try:
            return imap.same_status(witness, client, folder)
        finally:
            self.put(key, witness)  # a dead witness is found by its own check when next lent

    def _pick(self, idle: list[tuple[float, IMAPClient]], folder: str | None,
              big_folders: set[str]) -> int | None:
        """The idle connection to lend (None: open a new one).

        One that has FOLDER selected; else the newest that holds no big folder; else,
        below MAX_IDLE, a new one; else the one idle longest.
        """
        names = [getattr(c, "selected", None) for _, c in idle]
        names = [n[0] if n else None for n in names]
        for index in range(len(idle) - 1, -1, -1):
            if folder and names[index] == folder:
                return index
        for index in range(len(idle) - 1, -1, -1):
            if names[index] not in big_folders:
                return index
        if len(idle) < self.max_idle:
            return None
        return 0 if idle else None

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


def _holds_big_folder(client: IMAPClient) -> bool:
    return bool(getattr(client, "selected", None)) and getattr(client, "selected_exists", 0) > BIG_FOLDER
