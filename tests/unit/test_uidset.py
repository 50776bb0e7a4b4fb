"""UID sets as ranges: one IMAP command for many messages, nothing smuggled in."""
import pytest

from core.mail import uidset


def test_uids_become_ranges():
    assert uidset.compress([7, 3, 1, 2, 2]) == "1:3,7"
    assert uidset.compress([]) == ""


def test_chunks_stay_under_the_limit_and_keep_every_uid():
    uids = list(range(1, 20000, 2))  # nothing adjacent: the worst case
    parts = uidset.chunks(uids, limit=500)
    assert all(len(p) <= 500 for p in parts)
    assert [u for p in parts for a, b in uidset.parse(p) for u in range(a, b + 1)] == uids
    assert uidset.chunks(range(1, 100001)) == ["1:100000"]


@pytest.mark.parametrize("bad", ["1:*", "1 2", "1,(ALL)", "0:3", "", "4294967296", "1:2\r\nA1 LOGOUT"])
def test_only_plain_sets_parse(bad):
    with pytest.raises(ValueError):
        uidset.parse(bad)


def test_count_and_canonical_merge_overlaps():
    assert uidset.count("4:6,9,5:7") == 5
    assert uidset.canonical(" 9,4:6 ") == "4:6,9"
