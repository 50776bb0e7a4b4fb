"""The list's caches on a real Dovecot: what a warm page still asks the server."""
import select

from core.cache import LruCache
from core.extensions import imap_pool
from core.mail import listing, pool
from core.services.server import mailstore
from tests.helpers import commands_sent, imap_login, message, new_address, signed_in_client
from tests.integration.admin_support import wait_until


def _page(client, cache, owner):
    return listing.list_page(client, cache, owner, "INBOX", per_page=10)


def test_a_warm_page_asks_only_for_the_folder_state_until_a_flag_moves(
        mail_stack, stack_db, domain, monkeypatch):
    owner = new_address(stack_db, domain, "lister")
    client = imap_login(mail_stack, owner)
    try:
        for number in range(3):
            client.append("INBOX", f"From: a@outside.test\r\nSubject: row {number}\r\n\r\nx\r\n".encode())
        sorted_uids = LruCache(1 << 20)
        cold = _page(client, sorted_uids, owner)
        sent = commands_sent(client, monkeypatch)
        warm = _page(client, sorted_uids, owner)
        assert sent == ["STATUS"]  # no SORT, no FETCH: the rows and their flags are current
        assert [r.subject for r in warm.messages] == [r.subject for r in cold.messages]
        other = imap_login(mail_stack, owner)
        other.select_folder("INBOX")
        other.add_flags([cold.messages[0].uid], [b"\\Flagged"])
        other.logout()
        client.noop()  # as the pool does before lending the connection
        sent.clear()
        flagged = _page(client, sorted_uids, owner)
        assert sent == ["STATUS", "FETCH"]  # HIGHESTMODSEQ moved: the shown rows' FLAGS only
        assert flagged.messages[0].flagged and not any(r.flagged for r in flagged.messages[1:])
    finally:
        client.logout()


def test_a_big_folder_unchanged_is_not_synced_yet_new_mail_shows_and_a_kick_is_survived(
        mail_stack, stack_db, domain, app, monkeypatch):
    # The pool syncs a connection holding a big folder only when another connection sees
    # that folder changed (core/mail/pool.py). That relies on Dovecot answering STATUS of
    # a folder not selected as it is now, and on a connection the server ended being
    # replaced before it is lent.
    monkeypatch.setattr(pool, "BIG_FOLDER", 2)  # three messages make a big folder here
    owner = new_address(stack_db, domain, "bigpool", spam_to_junk=False)
    other = imap_login(mail_stack, owner)
    other.create_folder("Big")
    for number in range(3):
        other.append("Big", message("a@outside.test", owner, f"big row {number}").as_bytes())
    web = signed_in_client(app, owner)
    for folder in ("INBOX", "Big", "INBOX"):  # Big keeps a connection of its own
        assert web.get(f"/mail?folder={folder}").status_code == 200
    (big,) = [c for _, c in imap_pool._idle[owner] if c.selected == ("Big", False)]
    sent = commands_sent(big, monkeypatch)
    assert "big row 2" in web.get("/mail?folder=Big").get_data(as_text=True)
    assert sent == ["STATUS", "STATUS"]  # its view against the other's; no NOOP, no SELECT

    other.append("Big", message("a@outside.test", owner, "big row 3").as_bytes())
    other.logout()
    html = web.get("/mail?folder=Big").get_data(as_text=True)
    assert "big row 3" in html and 'data-count="messages">4<' in html

    mailstore.kick(mail_stack, owner)
    idle = [c for _, c in imap_pool._idle[owner]]
    assert len(idle) == 2 and wait_until(
        lambda: all(select.select([c.socket()], [], [], 0)[0] for c in idle))
    page = web.get("/mail?folder=Big")  # every pooled connection is dead: a new one, quietly
    assert page.status_code == 200 and "big row 3" in page.get_data(as_text=True)
