"""The store every app process shares: which one the settings choose, and how it fails."""
import socket
import time

from core import shared
from core.config import load_config


def _settings(tmp_path, **env):
    return load_config(environ={"MAILROOM_DATA_DIR": str(tmp_path),
                                **{f"MAILROOM_{k}": v for k, v in env.items()}})


def test_without_a_stack_one_process_counts_alone(tmp_path):
    assert shared.store_url(_settings(tmp_path)) == "memory://"
    assert isinstance(shared.open_store(_settings(tmp_path)), shared.MemoryStore)


def test_the_stacks_redis_once_it_has_a_password_which_stays_out_of_the_url(tmp_path):
    cfg = _settings(tmp_path, REDIS_PASSWORD="pw-of-redis", REDIS_PORT="16400")
    assert shared.store_url(cfg) == "redis://127.0.0.1:16400/1"
    assert shared.store_options(cfg)["password"] == "pw-of-redis"


def test_an_explicit_url_wins(tmp_path):
    cfg = _settings(tmp_path, REDIS_PASSWORD="pw", REDIS_URL="memory://")
    assert isinstance(shared.open_store(cfg), shared.MemoryStore)
    assert shared.store_url(_settings(tmp_path, REDIS_URL="redis://cache.internal:6379/3")) \
        == "redis://cache.internal:6379/3"


def test_a_value_lasts_its_lifetime(monkeypatch):
    store = shared.MemoryStore()
    store.put("k", "v1", 30)
    assert store.get("k") == "v1"
    later = time.monotonic() + 31
    monkeypatch.setattr(shared.time, "monotonic", lambda: later)
    assert store.get("k") is None


def test_a_redis_that_does_not_answer_never_confirms_a_mark():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = shared.RedisStore(f"redis://127.0.0.1:{port}/1", {"socket_connect_timeout": 1})
    store.put("mark", "m1", 30)  # logged, not raised
    first, second = store.get("mark"), store.get("mark")
    assert first not in (None, "", "m1") and first != second
