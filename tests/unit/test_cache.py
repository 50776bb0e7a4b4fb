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
