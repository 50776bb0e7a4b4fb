"""What every app process must agree on, kept where all of them see it.

MAILROOM_REDIS_URL chooses the store: a Redis URL, or memory:// for one process alone.
Left empty, it is the stack's own Redis (database 1; Rspamd keeps Bayes in 0) once the
stack has given Redis a password, else memory://, so an app without a stack still runs.
The rate-limit counters (Flask-Limiter) and the marks below live there; web sessions
and their sealed credentials live in the database, which every process shares anyway.
Blobs (bytes) are what one process worked out and another may reuse instead of asking
again (core/mail/threads.py: a folder's conversations); memory:// keeps none, since the
one process alone has them in its own caches already.

A mark is a short value with a lifetime: a process that cached something compares the
mark it saw then with the one the store holds now (mailbox.py: the folder tree).
"""
from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Protocol

import redis

log = logging.getLogger(__name__)

MEMORY = "memory://"
STACK_DATABASE = 1
# A store that does not answer within this long is treated as down (see RedisStore.get).
TIMEOUT_SECONDS = 2.0
PREFIX = "mailroom:"


class Store(Protocol):
    """Short values by key, each gone after its lifetime."""

    def get(self, key: str) -> str | None:
        """The value of KEY, None when it has none."""

    def put(self, key: str, value: str, seconds: int) -> None:
        """Set KEY to VALUE for SECONDS."""

    def get_blob(self, key: str) -> bytes | None:
        """The bytes of KEY, None when it has none or the store cannot say."""

    def put_blob(self, key: str, value: bytes, seconds: int) -> None:
        """Set KEY to the bytes VALUE for SECONDS, when the store keeps blobs."""


class MemoryStore:
    """The store of one process alone."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        """The value of KEY, None when it has none or it is past its lifetime."""
        with self._lock:
            value, until = self._items.get(key, (None, 0.0))
            return value if time.monotonic() < until else None

    def put(self, key: str, value: str, seconds: int) -> None:
        """Set KEY to VALUE for SECONDS, dropping whatever has run out."""
        now = time.monotonic()
        with self._lock:
            self._items = {k: item for k, item in self._items.items() if item[1] > now}
            self._items[key] = (value, now + seconds)

    def get_blob(self, key: str) -> bytes | None:
        """None: one process alone keeps what a blob would hold in its own caches."""
        return None

    def put_blob(self, key: str, value: bytes, seconds: int) -> None:
        """Nothing: no other process could read it."""


class RedisStore:
    """The store every process sees, in Redis."""

    def __init__(self, url: str, options: dict) -> None:
        self.client = redis.Redis.from_url(url, decode_responses=True, **options)
        self.blobs = redis.Redis.from_url(url, **options)  # the same server, bytes as bytes

    def get(self, key: str) -> str | None:
        """The value of KEY; a fresh random value when Redis cannot say.

        What was cached against a mark is then never taken for current: slower, not wrong.
        """
        try:
            return self.client.get(PREFIX + key)
        except redis.RedisError as exc:
            log.warning("the shared store did not answer: %s", exc)
            return secrets.token_hex(16)

    def put(self, key: str, value: str, seconds: int) -> None:
        """Set KEY to VALUE for SECONDS; when Redis is down, other processes miss it."""
        try:
            self.client.set(PREFIX + key, value, ex=seconds)
        except redis.RedisError as exc:
            log.warning("the shared store did not take %s: %s", key.split(":", 1)[0], exc)

    def get_blob(self, key: str) -> bytes | None:
        """The bytes of KEY; None when it has none or Redis cannot say (the caller works
        them out itself, as without a shared store)."""
        try:
            return self.blobs.get(PREFIX + key)
        except redis.RedisError as exc:
            log.warning("the shared store did not answer: %s", exc)
            return None

    def put_blob(self, key: str, value: bytes, seconds: int) -> None:
        """Set KEY to the bytes VALUE for SECONDS; when Redis is down, other processes miss it."""
        try:
            self.blobs.set(PREFIX + key, value, ex=seconds)
        except redis.RedisError as exc:
            log.warning("the shared store did not take %s: %s", key.split(":", 1)[0], exc)


def store_url(cfg: dict) -> str:
    """The URL of the shared store the settings choose.

    >>> store_url({"REDIS_URL": "", "REDIS_PASSWORD": "", "REDIS_HOST": "127.0.0.1", "REDIS_PORT": 16379})
    'memory://'
    >>> store_url({"REDIS_URL": "", "REDIS_PASSWORD": "s3", "REDIS_HOST": "127.0.0.1", "REDIS_PORT": 16379})
    'redis://127.0.0.1:16379/1'
    """
    if cfg["REDIS_URL"]:
        return cfg["REDIS_URL"]
    if not cfg["REDIS_PASSWORD"]:
        return MEMORY
    return f"redis://{cfg['REDIS_HOST']}:{cfg['REDIS_PORT']}/{STACK_DATABASE}"


def store_options(cfg: dict) -> dict:
    """Keyword arguments for the Redis client: timeouts, and REDIS_PASSWORD if set (a
    password in the URL wins). Passed apart so that no URL that is shown holds it."""
    options: dict = {"socket_timeout": TIMEOUT_SECONDS, "socket_connect_timeout": TIMEOUT_SECONDS}
    if cfg["REDIS_PASSWORD"]:
        options["password"] = cfg["REDIS_PASSWORD"]
    return options


def open_store(cfg: dict) -> Store:
    """The store the settings choose (nothing is connected until it is used)."""
    url = store_url(cfg)
    return MemoryStore() if url == MEMORY else RedisStore(url, store_options(cfg))


_store: Store = MemoryStore()


def configure(cfg: dict) -> None:
    """Use the store CFG chooses from now on (create_app calls this)."""
    global _store
    _store = open_store(cfg)


def store() -> Store:
    """The process's shared store."""
    return _store
