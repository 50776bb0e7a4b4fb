"""The conversation view against the real Dovecot: threads, Sent answers, whole-thread actions."""
from __future__ import annotations

import random

from core import shared
from core.cache import LruCache
from core.mail import threads
from core.services.mail import conversations, identities
from tests.conftest import free_ports
from tests.helpers import (commands_sent, csrf_token, folder_uids, imap_login, new_address,
                           signed_in_client)

from . import spam_support
from .conversation_support import raw, seed
from .process_support import served_app, signed_in_opener


def _flags(cfg, me, folder, uid):
    client = imap_login(cfg, me)
    try:
        client.select_folder(folder, readonly=True)
        return client.get_flags([uid]).get(uid, ())
    finally:
        client.logout()


def test_threads_come_newest_first_with_the_answers_kept_in_sent(mail_stack, stack_db, domain):
    me = new_address(stack_db, domain, "threads", spam_to_junk=False)
    uids = seed(mail_stack, me, "t1")
    client = imap_login(mail_stack, me)
    try:
        page = conversations.conversation_page(client, LruCache(1 << 20), me, "INBOX", "Sent")
    finally:
        client.logout()
    assert page.total == 3 and page.messages_total == 4
    alone, lunch, plan = page.conversations
    assert [(f, r.uid) for f, r in plan.messages] == [uids["plan1"], uids["plan2"], uids["plan3"]]
    assert plan.uids == [uids["plan1"][1], uids["plan3"][1]]  # what its actions take
    assert plan.participants(me, "Sent") == ["Anna", "me", "Ben"]
    assert plan.unread and plan.opens == uids["plan3"][1]
    # The person started this one: the INBOX answer's In-Reply-To finds it in Sent.
    assert [(f, r.uid) for f, r in lunch.messages] == [uids["lunch1"], uids["lunch2"]]
    assert [(f, r.uid) for f, r in alone.messages] == [uids["alone"]]


def test_new_mail_joins_the_cached_threads_as_threading_anew_would(
        mail_stack, stack_db, domain, monkeypatch):
    me = new_address(stack_db, domain, "grown", spam_to_junk=False)
    uids = seed(mail_stack, me, "t5")
    client = imap_login(mail_stack, me)
    try:
        cache = LruCache(1 << 20)
        conversations.conversation_page(client, cache, me, "INBOX", "Sent")  # page 1 shown
        other = imap_login(mail_stack, me)
        other.append("INBOX", raw("Ben <ben@conv.test>", me, "Re: Plan t5", "<plan4.t5@conv.test>", 6,
                                  "<plan3.t5@conv.test>", "<plan1.t5@conv.test> <plan2.t5@conv.test>"))
        other.append("INBOX", raw("News <news@conv.test>", me, "News t5", "<news.t5@conv.test>", 7))
        # Same subject as a conversation, naming nothing: a conversation of its own (REFS),
        # told without a THREAD.
        other.append("INBOX", raw("Eve <eve@conv.test>", me, "Re: Plan t5", "<eve.t5@conv.test>", 8))
        other.logout()
        client.noop()  # as the pool does before lending the connection
        monkeypatch.setattr(shared, "_store", shared.MemoryStore())  # "anew" below: a THREAD
        sent = commands_sent(client, monkeypatch)
        page = conversations.conversation_page(client, cache, me, "INBOX", "Sent")
        assert "THREAD" not in sent and "SORT" not in sent
        anew, _ = threads.threads(client, LruCache(1 << 20), me, "INBOX")
        grown, _ = threads.threads(client, cache, me, "INBOX")
        assert (grown.uids, grown.starts) == (anew.uids, anew.starts)
        eve, news, plan = page.conversations[:3]
        assert [len(c.messages) for c in (eve, news)] == [1, 1] and news.subject == "News t5"
        assert plan.uids[:2] == [uids["plan1"][1], uids["plan3"][1]] and len(plan.messages) == 4
        # A message gone since: the folder is threaded anew.
        client.select_folder("INBOX")
        client.delete_messages([news.opens])
        client.expunge()
        sent.clear()
        assert conversations.conversation_page(client, cache, me, "INBOX", "Sent").total == 4
        assert "THREAD" in sent
    finally:
        client.logout()


def test_a_second_process_reads_the_threads_the_first_made_and_redis_down_costs_a_thread(
        mail_stack, stack_db, domain, monkeypatch):
    me = new_address(stack_db, domain, "sharedthreads", spam_to_junk=False)
    uids = seed(mail_stack, me, "t6")
    with stack_db.transaction() as session:
        identities.save_list_view(session, me, True)
    port = free_ports(1)[0]
    with served_app(mail_stack, port):  # the first process threads INBOX for its page
        listed = signed_in_opener(f"http://127.0.0.1:{port}", me).open(
            f"http://127.0.0.1:{port}/mail?folder=INBOX").read().decode()
    assert listed.count('<li class="row conversation') == 3
    expected = [[uids["alone"][1]], [uids["lunch2"][1]], [uids["plan1"][1], uids["plan3"][1]]]
    client = imap_login(mail_stack, me)
    try:
        monkeypatch.setattr(shared, "_store", shared.open_store(mail_stack))
        sent = commands_sent(client, monkeypatch)
        found, _ = threads.threads(client, LruCache(1 << 20), me, "INBOX")
        assert "THREAD" not in sent and [found.members(i) for i in range(len(found))] == expected
        # Redis down: the page is threaded here, as without a shared store.
        closed = f"redis://127.0.0.1:{free_ports(1)[0]}/1"
        monkeypatch.setattr(shared, "_store", shared.RedisStore(closed, shared.store_options(mail_stack)))
        page = conversations.conversation_page(client, LruCache(1 << 20), me, "INBOX", "Sent")
        assert "THREAD" in sent and [c.uids for c in page.conversations] == expected
    finally:
        client.logout()


def test_the_switch_is_remembered_and_a_conversation_opens_read_with_the_newest_expanded(
        app, mail_stack, stack_db, domain):
    me = new_address(stack_db, domain, "switch", spam_to_junk=False)
    uids = seed(mail_stack, me, "t2")
    web = signed_in_client(app, me)
    page = web.get("/mail?folder=INBOX").get_data(as_text=True)
    assert 'aria-pressed="true">Messages' in page and page.count('<li class="row') == 4
    answer = web.post("/mail/view", data={"view": "conversations", "back": "/mail?folder=INBOX",
                                          "csrf_token": csrf_token(page)})
    assert answer.status_code == 302 and answer.headers["Location"] == "/mail?folder=INBOX"
    again = signed_in_client(app, me)  # another session: the choice is the person's
    listed = again.get("/mail?folder=INBOX").get_data(as_text=True)
    assert 'aria-pressed="true">Conversations' in listed
    assert listed.count('<li class="row conversation') == 3
    assert 'data-count="conversations">3<' in listed
    assert f'value="{uids["plan1"][1]},{uids["plan3"][1]}"' in listed
    assert "Anna, me, Ben" in listed

    opened = again.get(f"/mail/conversation/{uids['plan3'][1]}?folder=INBOX").get_data(as_text=True)
    assert opened.count('class="threadmsg') == 3
    assert opened.count(" open>") == 1 and opened.index(" open>") > opened.index("Ben")
    assert f"/mail/{uids['plan2'][1]}/body?folder=Sent" in opened
    assert b"\\Seen" in _flags(mail_stack, me, "INBOX", uids["plan3"][1])
    body = again.get(f"/mail/{uids['plan2'][1]}/body?folder=Sent").get_data(as_text=True)
    assert "a few words from" in body  # text mail is framed too
    assert again.get("/mail/conversation/999999?folder=INBOX").status_code == 404


def test_delete_takes_the_whole_conversation_and_leaves_sent_alone(app, mail_stack, stack_db, domain):
    me = new_address(stack_db, domain, "convdel", spam_to_junk=False)
    uids = seed(mail_stack, me, "t3")
    web = signed_in_client(app, me)
    page = web.get("/mail?folder=INBOX").get_data(as_text=True)
    web.post("/mail/bulk", data={"folder": "INBOX", "action": "delete", "csrf_token": csrf_token(page),
                                 "uid": f"{uids['plan1'][1]},{uids['plan3'][1]}"})
    assert folder_uids(mail_stack, me, "INBOX") == {uids["lunch2"][1], uids["alone"][1]}
    assert len(folder_uids(mail_stack, me, "Trash")) == 2
    assert uids["plan2"][1] in folder_uids(mail_stack, me, "Sent")


def _spam(rng: random.Random) -> str:
    return " ".join(rng.choice(spam_support.SPAM_WORDS) for _ in range(60))


def test_spam_on_a_conversation_moves_and_trains_every_message(app, mail_stack, stack_db, domain):
    me = new_address(stack_db, domain, "convspam", spam_to_junk=False)
    rng = random.Random(20)
    first = raw("Win <win@prize.test>", me, "You won", "<win1@prize.test>", 0, body=_spam(rng))
    second = raw("Win <win@prize.test>", me, "Re: You won", "<win2@prize.test>", 1,
                 "<win1@prize.test>", body=_spam(rng))
    client = imap_login(mail_stack, me)
    try:
        client.append("INBOX", first)
        client.append("INBOX", second)
        client.select_folder("INBOX", readonly=True)
        both = sorted(client.search(["ALL"]))
    finally:
        client.logout()
    before = spam_support.counts(mail_stack)
    web = signed_in_client(app, me)
    page = web.get(f"/mail/conversation/{both[1]}?folder=INBOX").get_data(as_text=True)
    assert f'name="uid" value="{both[0]},{both[1]}"' in page
    done = web.post("/mail/bulk", data={"folder": "INBOX", "action": "spam", "uid": f"{both[0]},{both[1]}",
                                        "csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "2 messages moved to Junk. The move is queued" in done.get_data(as_text=True)
    assert folder_uids(mail_stack, me, "INBOX") == set() and len(folder_uids(mail_stack, me, "Junk")) == 2
    spam_support.wait_until(lambda: spam_support.counts(mail_stack)[0] == before[0] + 2,
                            "both messages learned as spam")
