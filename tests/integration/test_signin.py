"""Sign-in, sessions and the first page against the real stack."""
import http.client
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlsplit

import pytest

from core.mail.errors import AuthenticationFailed
from core.models import WebSession
from core.services.directory import aliases, lookup
from core.services.directory.lookup import SYSTEM_ACTOR
from tests.helpers import (PASSWORD, csrf_token, imap_login, new_address, new_server_admin,
                           post_login, submit, wait_for_subject)

# The longest Dovecot delays a login from an address that failed before (its auth penalty).
DOVECOT_PENALTY_SECONDS = 15


def test_service_made_mailbox_receives_mail_sent_through_submission(mail_stack, stack_db, domain):
    sender = new_address(stack_db, domain, "sender")
    recipient = new_address(stack_db, domain, "rcpt")
    subject = f"submission {uuid.uuid4().hex}"
    submit(mail_stack, sender, recipient, subject)
    raw = wait_for_subject(mail_stack, recipient, subject)
    assert f"From: {sender}".encode() in raw


def test_alias_added_by_service_delivers_on_the_next_message(mail_stack, stack_db, domain):
    sender = new_address(stack_db, domain, "sender")
    target = new_address(stack_db, domain, "target")
    alias = f"team-{uuid.uuid4().hex[:6]}@{domain}"
    with stack_db.transaction() as session:
        aliases.create_alias(session, SYSTEM_ACTOR, alias, [target])
    subject = f"alias {uuid.uuid4().hex}"
    submit(mail_stack, sender, alias, subject)
    wait_for_subject(mail_stack, target, subject)


def test_disabled_mailbox_is_refused_at_imap_and_smtp_auth(mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "disabled")
    imap_login(mail_stack, address).logout()
    with stack_db.transaction() as session:
        lookup.set_mail_access(session, address, False)
    with pytest.raises(AuthenticationFailed):
        imap_login(mail_stack, address)
    with pytest.raises(AuthenticationFailed):
        submit(mail_stack, address, address, "should not be sent")


def test_sign_in_shows_inbox_counts_and_quota(app, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "web")
    subject = f"first page {uuid.uuid4().hex}"
    submit(mail_stack, address, address, subject)
    wait_for_subject(mail_stack, address, subject)
    client = app.test_client()
    response = post_login(client, address.upper())
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert 'data-count="messages">1<' in page and 'data-count="unseen">1<' in page
    assert "<meter" in page and "Storage" in page
    assert "Admin" not in page  # not an admin: no link


def test_credential_is_sealed_not_stored(app, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "sealed")
    client = app.test_client()
    post_login(client, address)
    with stack_db.factory() as session:
        stored = session.query(WebSession).filter_by(address=address).one()
    assert PASSWORD.encode() not in stored.sealed_credential
    with client.session_transaction() as cookie_session:
        assert PASSWORD not in repr(dict(cookie_session))


def test_logout_needs_csrf_and_ends_the_session(app, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "logout")
    client = app.test_client()
    post_login(client, address)
    assert client.post("/logout").status_code == 400
    page = client.get("/")
    assert page.status_code == 200  # the refused logout changed nothing
    client.post("/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert client.get("/").status_code == 302
    with stack_db.factory() as session:
        assert session.query(WebSession).filter_by(address=address).count() == 0


def test_idle_session_expires(app, mail_stack, stack_db, domain):
    from datetime import timedelta

    from core.models.base import utcnow

    address = new_address(stack_db, domain, "idle")
    client = app.test_client()
    post_login(client, address)
    with stack_db.transaction() as session:
        for row in session.query(WebSession).filter_by(address=address):
            row.last_seen_at = utcnow() - timedelta(hours=3)
    assert client.get("/").status_code == 302


def test_session_ends_after_its_maximum_age_however_active(app, mail_stack, stack_db, domain):
    # Issue 12: only idle time ended a session; a busy one lived for ever.
    from datetime import timedelta

    from core.models.base import utcnow

    address = new_address(stack_db, domain, "aged")
    client = app.test_client()
    post_login(client, address)
    assert client.get("/").status_code == 200
    with stack_db.transaction() as session:
        for row in session.query(WebSession).filter_by(address=address):
            row.created_at = utcnow() - timedelta(hours=app.config["SESSION_MAX_HOURS"], minutes=1)
            row.last_seen_at = utcnow()
    assert client.get("/").status_code == 302
    with stack_db.factory() as session:
        assert session.query(WebSession).filter_by(address=address).count() == 0


def test_admin_sees_admin_link_and_page(app, mail_stack, stack_db, domain):
    address = new_server_admin(stack_db, domain, "boss")
    client = app.test_client()
    post_login(client, address)
    assert ">Admin</a>" in client.get("/").get_data(as_text=True)
    page = client.get("/admin/").get_data(as_text=True)
    assert domain in page


def test_non_admin_gets_403_on_admin(app, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "plain")
    client = app.test_client()
    post_login(client, address)
    assert client.get("/admin/").status_code == 403


# Wrong-password tests run last and from their own client addresses (127.0.0.2x; test_stack
# uses 127.0.0.9-11): Dovecot's auth penalty slows later logins from an address that failed.
def test_wrong_password_and_unknown_address_get_the_same_message_and_the_limit_trips(
        app, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "victim")
    client = app.test_client()
    wrong = post_login(client, address, "not-the-password", ip="127.0.0.20")
    # From another address: Dovecot would delay a second one from .20, answered with 429.
    unknown = post_login(client, f"nobody-{uuid.uuid4().hex[:6]}@{domain}", "x", ip="127.0.0.22")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong address or password." in wrong.get_data(as_text=True)
    assert "Wrong address or password." in unknown.get_data(as_text=True)
    statuses = [post_login(client, address, f"wrong-{i}", ip="127.0.0.20").status_code
                for i in range(3)]
    assert statuses[-1] == 429
    limited = post_login(client, address, PASSWORD, ip="127.0.0.21")
    assert limited.status_code == 429  # per address, whatever the client address
    assert "Too many sign-in attempts" in limited.get_data(as_text=True)


def test_address_limit_holds_for_every_spelling_that_signs_in_as_the_address(
        app, mail_stack, stack_db, domain):
    # Issue 12: sign-in normalises the address, so the limit must count what it signs in as.
    address = new_address(stack_db, domain, "spelled")
    local, _, host = address.partition("@")
    client = app.test_client()
    for i in range(3):
        post_login(client, address, f"wrong-{i}", ip="127.0.0.120")
    spellings = [f"{address}.", f"{address}..", f"{local}@{host[:3]}\u00ad{host[3:]}",
                 f"{local}@" + "".join(chr(ord(c) + 0xFEE0) for c in host.split(".")[0])
                 + "." + host.split(".", 1)[1], f"{local.upper()}@{host.upper()}"]
    statuses = {spelling: post_login(client, spelling, "wrong", ip=f"127.0.0.{121 + n}").status_code
                for n, spelling in enumerate(spellings)}
    # The right password too: the address is locked, however it is spelled.
    statuses["right password"] = post_login(client, f"{address}....", PASSWORD,
                                            ip="127.0.0.127").status_code
    assert set(statuses.values()) == {429}, statuses


def test_unparseable_address_is_limited_under_a_key_of_its_own(app, mail_stack):
    client = app.test_client()
    junk = f"not an address {uuid.uuid4().hex[:6]}"
    statuses = [post_login(client, junk, "x", ip="127.0.0.128").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert post_login(client, f"other {junk}", "x", ip="127.0.0.128").status_code == 401


def test_dovecot_sees_the_forwarded_client_only_from_a_trusted_proxy(mail_stack, stack_db, domain):
    # Issue 12.3: behind a reverse proxy everybody shared the proxy's address; its
    # X-Forwarded-For must name the client to the limits and to Dovecot, and only its own.
    import re

    from app import create_app
    from stack.layout import Layout

    proxied = create_app({**mail_stack, "ENV": "testing", "PROXY_FIX": 1,
                          "TRUSTED_PROXIES": "127.0.0.1"}).test_client()
    seen = {}
    for peer in ("127.0.0.1", "127.0.0.74"):  # the proxy, and somebody else claiming a client
        address = new_address(stack_db, domain, "proxied")
        environ = {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": "203.0.113.50"}
        form = csrf_token(proxied.get("/login", environ_base=environ).get_data(as_text=True))
        answer = proxied.post("/login", data={"address": address, "password": PASSWORD,
                                              "csrf_token": form}, environ_base=environ)
        assert answer.status_code == 302
        proxied.post("/logout", data={"csrf_token": csrf_token(proxied.get("/").get_data(as_text=True))})
        log = Layout.from_config(mail_stack).log_file("dovecot").read_text()
        seen[peer] = re.findall(rf"Login: user=<{re.escape(address)}>, method=PLAIN, rip=([^,]+)", log)
    assert seen == {"127.0.0.1": ["203.0.113.50"], "127.0.0.74": ["127.0.0.74"]}


def http_sign_in(base_url: str, address: str, password: str, source: str) -> int:
    """Sign in over HTTP from the client address SOURCE, as a browser does; return the status."""
    where = urlsplit(base_url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=120,
                                      source_address=(source, 0))
    try:
        conn.request("GET", "/login")
        page = conn.getresponse()
        cookie = page.getheader("Set-Cookie").split(";")[0]
        form = urlencode({"address": address, "password": password,
                          "csrf_token": csrf_token(page.read().decode())})
        conn.request("POST", "/login", form, {"Cookie": cookie,
                                              "Content-Type": "application/x-www-form-urlencoded"})
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


class SignInThreads:
    """WSGI middleware noting when each sign-in POST from one client address began and ended."""

    def __init__(self, wsgi_app, client: str) -> None:
        self.app, self.client = wsgi_app, client
        self.spans: list[tuple[float, float]] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "POST" or environ.get("REMOTE_ADDR") != self.client:
            return self.app(environ, start_response)
        began = time.monotonic()
        try:
            return self.app(environ, start_response)
        finally:
            with self.lock:
                self.spans.append((began, time.monotonic()))

    def most_held_at_once(self, longer_than: float, began_after: float = 0.0) -> int:
        """The most threads this client's sign-ins of more than LONGER_THAN seconds, begun
        after BEGAN_AFTER, held at once."""
        spans = [(began, ended) for began, ended in self.spans
                 if ended - began > longer_than and began >= began_after]
        events = sorted([(began, 1) for began, _ in spans] + [(ended, -1) for _, ended in spans])
        held = most = 0
        for _, step in events:
            held += step
            most = max(most, held)
        return most


def test_wrong_passwords_from_one_client_hold_one_thread_and_never_delay_another_person(
        app, live_url, stack_db, domain, monkeypatch):
    # Issue 12.3: each wrong password waited out Dovecot's penalty (up to 15 s) in a waitress
    # thread, so a few of them took every thread and everybody else waited or got 503.
    attacker, bystander = "127.0.0.70", "127.0.0.71"
    person = new_address(stack_db, domain, "bystander")
    threads = SignInThreads(app.wsgi_app, attacker)
    monkeypatch.setattr(app, "wsgi_app", threads)  # live_url serves with 4 threads
    with ThreadPoolExecutor(8) as pool:
        attack = [pool.submit(http_sign_in, live_url, f"nobody-{i}-{uuid.uuid4().hex[:6]}@{domain}",
                              f"guess-{i}", attacker) for i in range(30)]
        time.sleep(2)  # the attack is under way: its first answers take Dovecot's 2 s
        signed_in = []
        for _ in range(3):
            began = time.monotonic()
            status = http_sign_in(live_url, person, PASSWORD, bystander)
            signed_in.append((status, round(time.monotonic() - began, 2)))
        refused = [future.result() for future in attack]
    assert [status for status, _ in signed_in] == [302] * 3, signed_in
    assert max(seconds for _, seconds in signed_in) < DOVECOT_PENALTY_SECONDS / 3, signed_in
    assert 302 not in refused
    # Its first guesses, sent at once before any had failed, each hold a thread (within
    # SIGNIN_CONCURRENCY): an address without failures may be a whole office and is not
    # held to one sign-in. From its first answer on, it holds one thread at most.
    first_answer = min(ended for _, ended in threads.spans)
    assert threads.most_held_at_once(longer_than=1.0, began_after=first_answer) <= 1, threads.spans


class SlowLogin:
    """A relay in front of Dovecot's IMAP port that holds every LOGIN back DELAY seconds,
    as an overloaded mail server would; PORT is where it listens."""

    def __init__(self, target: tuple[str, int], delay: float) -> None:
        self.target, self.delay = target, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                near, _ = self.listener.accept()
            except OSError:  # closed
                return
            far = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(near, far, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(far, near, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_client and b" LOGIN " in data.upper():
                    time.sleep(self.delay)
                sink.sendall(data)
        except OSError:  # the other side hung up, or the other pipe closed both
            pass
        finally:
            source.close()
            sink.close()

    def close(self) -> None:
        self.listener.close()


def test_a_slow_mail_server_signs_in_a_right_password_and_holds_back_only_a_failed_client(
        mail_stack, stack_db, domain):
    # A loaded machine answered LOGIN after more than SIGNIN_TIMEOUT: the sign-in was taken
    # for one Dovecot holds back after failures, refused with 429 'Too many sign-in
    # attempts', and every sign-in from that (office) address after it as well.
    from app import create_app

    relay = SlowLogin((mail_stack["IMAP_HOST"], mail_stack["IMAP_PORT"]), delay=2.5)
    try:
        app = create_app({**mail_stack, "ENV": "testing", "IMAP_PORT": relay.port,
                          "SIGNIN_TIMEOUT": 1})
        person = new_address(stack_db, domain, "slow")
        began = time.monotonic()
        assert post_login(app.test_client(), person, ip="127.0.0.150").status_code == 302
        assert time.monotonic() - began > 2.5
        # A client whose sign-in failed is given SIGNIN_TIMEOUT only (Dovecot may be holding
        # it back): the same right password, answered after 2.5 s, is refused.
        assert post_login(app.test_client(), person, "wrong", ip="127.0.0.151").status_code in (401, 429)
        assert post_login(app.test_client(), person, ip="127.0.0.151").status_code == 429
        # A LOGIN unanswered for all of MAIL_TIMEOUT is the server's fault, said as such,
        # and counted neither against the address (one guess a minute here) nor the
        # client: its next sign-in has the long wait again.
        impatient = create_app({**mail_stack, "ENV": "testing", "IMAP_PORT": relay.port,
                                "SIGNIN_TIMEOUT": 1, "MAIL_TIMEOUT": 2,
                                "LOGIN_LIMIT_ADDRESS": "1 per minute"})
        for _ in range(2):
            unanswered = post_login(impatient.test_client(), person, ip="127.0.0.152")
            assert unanswered.status_code == 503
            assert "does not answer right now" in unanswered.get_data(as_text=True)
        assert post_login(app.test_client(), person, ip="127.0.0.152").status_code == 302
    finally:
        relay.close()
