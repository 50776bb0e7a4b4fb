"""Conversations from a THREAD answer: grouping and ordering (pure logic)."""

from core.mail import threads
from core.services.mail import conversations


def test_each_top_level_thread_is_one_group_whatever_its_shape():
    # RFC 5256's example answer, and a thread whose root is missing (two siblings).
    line = b"(2)(3 6 (4 23)(44 7 96))((5)(8))"
    assert threads.groups(line) == [[2], [3, 6, 4, 23, 44, 7, 96], [5, 8]]
    assert threads.groups(b"") == []


def test_the_latest_arrival_comes_first_and_each_conversation_in_arrival_order():
    arranged = threads.arrange([[4, 1, 9], [2], [7, 3]])
    assert len(arranged) == 3
    assert [arranged.members(i) for i in range(3)] == [[1, 4, 9], [3, 7], [2]]
    assert arranged.index_of(7) == 1 and arranged.index_of(2) == 2 and arranged.index_of(5) is None
    assert arranged.newest(1) == 7


def test_new_mail_moves_the_threads_it_joined_to_the_front():
    old = threads.arrange([[1, 4], [2], [3, 5]])  # [3, 5], [1, 4], [2]
    grown = threads._with(old, {1: [6], -8: [8]})  # 6 answers [1, 4]; 8 starts a thread
    assert [grown.members(i) for i in range(len(grown))] == [[8], [1, 4, 6], [3, 5], [2]]


def test_packed_threads_come_back_whole_and_damaged_ones_not_at_all():
    found = threads.arrange([[4, 1, 9], [2], [7, 3]])
    packed = threads.pack(found, (77, 10, 6, None))
    assert len(packed) == 4 * (4 + 6 + 4)  # state and count, UIDs, starts
    back, state = threads.unpack(packed)
    assert (back.uids, back.starts, state) == (found.uids, found.starts, (77, 10, 6, None))
    for damaged in (None, b"", packed[:-1], packed[:-4], packed[:16]):
        assert threads.unpack(damaged) is None


def test_only_plain_message_ids_reach_the_sent_search():
    assert conversations._safe("<abc.1@host.example>")
    for hostile in ('<a"b@x>', "<a b@x>", "<a{5}@x>", "<a)@x>", "<a\r\n@x>", "no-brackets@x", ""):
        assert not conversations._safe(hostile), hostile
