import pytest

from core import cache as cache_module
from core.cache import LruCache


def test_a_changed_state_misses():
    cache = LruCache(10)
    cache.put("INBOX", [3, 2, 1], state=(1, 4, 3))
    assert cache.get("INBOX", (1, 4, 3)) == [3, 2, 1]
    assert cache.get("INBOX", (1, 5, 4)) is None  # a message arrived


def test_bounded_by_size_least_recently_used_first():
    cache = LruCache(10)
    cache.put("a", "A", size=4)
    cache.put("b", "B", size=4)
    cache.get("a")
    cache.put("c", "C", size=4)  # 12 > 10: "b" was used least recently
    assert cache.get("b") is None and cache.get("a") == "A" and cache.get("c") == "C"


def test_replacing_a_key_frees_its_old_size():
    cache = LruCache(10)
    cache.put("a", "old", size=8)
    cache.put("a", "new", size=8)
    cache.put("b", "B", size=2)
    assert cache.get("a") == "new" and cache.get("b") == "B"


def test_a_value_larger_than_the_cache_is_not_kept():
    cache = LruCache(10)
    cache.put("a", "A", size=4)
    cache.put("a", "huge", size=11)
    assert cache.get("a") is None and cache.size == 0


def test_a_smaller_budget_drops_the_oldest_entries():
    from webmail.context import sort_cache as sorted_uids

    before = cache_module._budget.total  # noqa: SLF001
    try:
        cache_module.set_budget(100 * 1024)
        sorted_uids.put("old", b"x", size=20 * 1024)
        sorted_uids.put("new", b"y", size=8 * 1024)
        cache_module.set_budget(30 * 1024)  # this share: 9 KB
        assert sorted_uids.get("old") is None and sorted_uids.get("new") == b"y"
    finally:
        cache_module.set_budget(before)


def test_shares_cannot_exceed_the_whole_budget():
    import webmail.context  # noqa: F401 - its caches take their shares on import

    with pytest.raises(ValueError):
        cache_module.share(0.9)


def test_the_app_sets_the_budget_from_cache_mb(tmp_path):
    from app import create_app
    from core.services.mail.reading import raw_cache

    try:
        create_app({"ENV": "testing", "SECRET_KEY": "t" * 20 + "0123456789abcdef",
                    "DATA_DIR": str(tmp_path), "CACHE_MB": 8})
        shares = cache_module._budget.shares  # noqa: SLF001
        assert sum(f for _, f in shares) == pytest.approx(1.0)  # every cache has its share
        assert 7.9 * 2**20 < sum(c.max_size for c, _ in shares) <= 8 * 2**20
        assert raw_cache.max_size == int(0.25 * 8 * 2**20)
    finally:
        cache_module.set_budget(cache_module.DEFAULT_BUDGET)
