"""The connection pool's choice of connection, with stand-in connections (no daemon)."""
from core.mail import pool as pool_module
from core.mail.pool import BIG_FOLDER, ConnectionPool


class FakeClient:
    """Stands in for a logged-in imapclient connection."""

    def __init__(self, name):
        self.name, self.selected, self.selected_exists, self.closed = name, None, 0, False
        self.sent, self.dead, self.views = [], False, {}

    def noop(self):
        return self._answer("NOOP", (b"NOOP completed", []))  # (text, untagged) as imapclient gives

    def folder_status(self, folder, items):
        # A selected folder as this session last synced it; another as the server has it now.
        return self._answer("STATUS", self.views.get(folder, {}))

    def has_capability(self, name):
        return True

    def _answer(self, command, answer):
        self.sent.append(command)
        if self.dead:
            raise ConnectionResetError("the server went away")
        return answer

    def logout(self):
        self.closed = True


def _use(pool, folder, opened, size=10):
    def opener():
        client = FakeClient(f"c{len(opened)}")
        opened.append(client)
        return client
    with pool.connection("anna@example.test", opener, folder) as client:
        client.selected, client.selected_exists = (folder, False), size
        return client


def test_small_folders_share_one_connection():
    pool, opened = ConnectionPool(), []
    first = _use(pool, "INBOX", opened)
    assert _use(pool, "Sent", opened) is first
    assert _use(pool, "INBOX", opened) is first and len(opened) == 1


def test_a_big_folder_keeps_its_own_connection():
    pool, opened = ConnectionPool(), []
    big = _use(pool, "Archive", opened, size=BIG_FOLDER + 1)
    small = _use(pool, "INBOX", opened)  # the big folder's connection stays in Archive
    assert small is not big and big.selected == ("Archive", False)
    assert _use(pool, "Archive", opened, size=BIG_FOLDER + 1) is big
    assert _use(pool, "INBOX", opened) is small and len(opened) == 2


def test_a_big_folder_is_synced_only_when_another_connection_sees_it_changed():
    # Syncing a session with a big folder selected copies its whole index in Dovecot;
    # a STATUS from a connection without it selected is current and cheap (core/mail/pool.py).
    pool, opened = ConnectionPool(), []
    big = _use(pool, "Archive", opened, size=BIG_FOLDER + 1)
    small = _use(pool, "INBOX", opened)
    big.sent.clear(), small.sent.clear()
    assert _use(pool, "Archive", opened, size=BIG_FOLDER + 1) is big
    assert big.sent == ["STATUS"] and small.sent == ["STATUS"]  # the same state: no NOOP
    big.views["Archive"] = {b"UIDNEXT": 7}  # what this session saw before mail arrived
    big.sent.clear()
    assert _use(pool, "Archive", opened, size=BIG_FOLDER + 1) is big and big.sent == ["STATUS", "NOOP"]
    small.sent.clear()
    assert _use(pool, "INBOX", opened) is small and small.sent == ["NOOP"]


def test_a_big_folder_without_another_connection_to_witness_is_synced():
    pool, opened = ConnectionPool(), []
    big = _use(pool, "Archive", opened, size=BIG_FOLDER + 1)
    big.sent.clear()
    assert _use(pool, "Archive", opened, size=BIG_FOLDER + 1) is big and big.sent == ["NOOP"]


def test_a_dead_connection_is_replaced_whichever_check_finds_it():
    pool, opened = ConnectionPool(), []
    big = _use(pool, "Archive", opened, size=BIG_FOLDER + 1)
    small = _use(pool, "INBOX", opened)
    big.dead = small.dead = True
    fresh = _use(pool, "Archive", opened, size=BIG_FOLDER + 1)
    assert fresh not in (big, small) and big.closed
    assert _use(pool, "INBOX", opened) not in (big, small) and small.closed


def test_at_the_limit_the_longest_idle_big_folder_gives_way():
    pool, opened = ConnectionPool(max_idle=2), []
    for n in range(3):
        _use(pool, f"Big{n}", opened, size=BIG_FOLDER + 1)
    assert len(opened) == 2 and opened[0].selected[0] == "Big2" and opened[1].selected[0] == "Big1"


def test_the_longest_idle_connection_is_closed_beyond_the_limit():
    pool = ConnectionPool(max_idle=1)
    clients = [FakeClient("a"), FakeClient("b")]
    pool.put("k", clients[0])
    pool.put("k", clients[1])
    assert clients[0].closed and not clients[1].closed


def test_a_server_refusal_keeps_the_connection_and_other_errors_close_it(monkeypatch):
    from core.mail.errors import ImapError

    pool, opened = ConnectionPool(), []
    try:
        with pool.connection("a", lambda: opened.append(FakeClient("x")) or opened[-1]):
            raise ImapError("NO")
    except ImapError:
        pass
    assert not opened[0].closed
    try:
        with pool.connection("a", lambda: FakeClient("y")):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert opened[0].closed  # the lent connection was the first one, now closed


def test_idle_connections_are_closed_after_the_idle_time(monkeypatch):
    pool, opened = ConnectionPool(idle_seconds=10), []
    first = _use(pool, "INBOX", opened)
    now = pool_module.time.monotonic()
    monkeypatch.setattr(pool_module.time, "monotonic", lambda: now + 11)
    second = _use(pool, "INBOX", opened)
    assert first.closed and second is not first


def test_close_all_closes_every_idle_connection_of_every_address():
    pool = ConnectionPool()
    clients = [FakeClient("a"), FakeClient("b"), FakeClient("c")]
    pool.put("anna@example.test", clients[0])
    pool.put("anna@example.test", clients[1])
    pool.put("bob", clients[2])
    pool.close_all()
    assert all(client.closed for client in clients)
    opened = []
    assert _use(pool, "INBOX", opened) is opened[0]  # nothing idle is lent again
