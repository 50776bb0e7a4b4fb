"""The list's caches on a real Dovecot: what a warm page still asks the server."""
from core.cache import LruCache
from core.mail import listing
from tests.helpers import commands_sent, imap_login, new_address


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
