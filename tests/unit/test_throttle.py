"""Counting sign-ins (core/services/access/throttle.py) and the worker's auth policy server."""
import ipaddress
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from core.mail.errors import AuthenticationFailed, LoginDelayed, ServiceUnavailable
from core.services.access.throttle import (SUSPECT_SECONDS, AlreadySigningIn, FailedLogins,
                                           ServerBusy, SignInSlots, client_network)
from stack.worker.policy import REFUSAL, serve_in_thread

KEY = "k" * 32


def test_client_network_counts_an_ipv6_client_per_64_and_mapped_ipv4_as_ipv4():
    assert client_network("2001:db8::7") == client_network("2001:db8::ffff") == "2001:db8::/64"
    assert client_network("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_network("not an address") == "not an address"


def fail(logins: FailedLogins, remote: str, success: bool = False) -> bool:
    """One login from REMOTE as Dovecot runs it: ask, then report; whether it was allowed."""
    allowed = logins.allow(remote)
    logins.report(remote, success and allowed, refused=not allowed)
    return allowed


def test_a_success_in_between_takes_nothing_off_the_failures():
    logins = FailedLogins("3 per minute")
    assert fail(logins, "192.0.2.1") and fail(logins, "192.0.2.1")
    assert fail(logins, "192.0.2.1", success=True)
    assert fail(logins, "192.0.2.1")
    assert not fail(logins, "192.0.2.1", success=True)  # the right password too
    assert fail(logins, "192.0.2.2")  # per client


def test_logins_under_way_count_until_they_report():
    logins = FailedLogins("3 per minute")
    started = [logins.allow(f"2001:db8::{n}") for n in range(4)]  # one /64: one client
    assert started == [True, True, True, False]
    for _ in range(3):
        logins.report("2001:db8::1", True, refused=False)
    assert logins.allow("2001:db8::9")


def test_exempt_networks_and_logins_without_an_address_are_never_refused():
    logins = FailedLogins("1 per minute", exempt=(ipaddress.ip_network("127.0.0.1/32"),))
    assert all(fail(logins, "127.0.0.1") for _ in range(3))
    assert all(fail(logins, "") for _ in range(3))
    assert fail(logins, "127.0.0.2") and not fail(logins, "127.0.0.2")


def test_a_new_limit_applies_at_once():
    logins = FailedLogins("1 per minute")
    assert fail(logins, "192.0.2.3") and not logins.allow("192.0.2.3")
    logins.set_limit("5 per minute")
    assert logins.allow("192.0.2.3")


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def failed_sign_in(slots: SignInSlots, client: str, error: Exception) -> None:
    """One sign-in from CLIENT that ends in ERROR, as the view runs it."""
    with pytest.raises(type(error)), slots.slot(client, 10):
        raise error


def test_sign_in_slots_hold_all_clients_together_to_the_capacity():
    slots = SignInSlots()
    with slots.slot("client:192.0.2.1", 2), slots.slot("client:192.0.2.2", 2):
        with pytest.raises(ServerBusy), slots.slot("client:192.0.2.3", 2):
            pass
    with slots.slot("client:192.0.2.3", 1):  # given back
        pass


def test_a_sign_in_waits_for_a_slot_that_frees_within_its_patience():
    # Thirty people arriving at nine: a full server makes the next one wait, not fail.
    slots = SignInSlots()
    taken, release = threading.Event(), threading.Event()

    def first():
        with slots.slot("client:192.0.2.1", 1):
            taken.set()
            release.wait(5)

    holder = threading.Thread(target=first)
    holder.start()
    taken.wait(5)
    with pytest.raises(ServerBusy), slots.slot("client:192.0.2.2", 1, patience=0.05):
        pass
    threading.Timer(0.1, release.set).start()
    began = time.monotonic()
    with slots.slot("client:192.0.2.2", 1, patience=5):
        assert 0.05 < time.monotonic() - began < 4
    holder.join(5)


def test_a_client_without_failures_signs_in_several_people_at_once():
    # One address is often a whole office behind NAT, or a proxy: its people sign in together.
    slots = SignInSlots()
    with slots.slot("client:192.0.2.1", 3), slots.slot("client:192.0.2.1", 3):
        with slots.slot("client:192.0.2.1", 3):
            pass


def test_a_client_that_failed_lately_has_one_sign_in_at_a_time_until_its_penalty_is_over():
    clock = Clock()
    slots = SignInSlots(clock)
    failed_sign_in(slots, "client:192.0.2.1", AuthenticationFailed("wrong"))
    with slots.slot("client:192.0.2.1", 10):
        with pytest.raises(AlreadySigningIn), slots.slot("client:192.0.2.1", 10):
            pass
        with slots.slot("client:192.0.2.2", 10), slots.slot("client:192.0.2.2", 10):
            pass  # another client is not held to one
    clock.now += SUSPECT_SECONDS - 1
    with slots.slot("client:192.0.2.1", 10):  # a success in between forgives nothing
        with pytest.raises(AlreadySigningIn), slots.slot("client:192.0.2.1", 10):
            pass
    clock.now += 1
    with slots.slot("client:192.0.2.1", 10), slots.slot("client:192.0.2.1", 10):
        pass


def test_a_slot_says_whether_its_client_failed_lately():
    # The view waits less for the LOGIN of a client Dovecot may be holding back.
    clock = Clock()
    slots = SignInSlots(clock)
    with slots.slot("client:192.0.2.8", 10) as suspect:
        assert suspect is False
    failed_sign_in(slots, "client:192.0.2.8", AuthenticationFailed("wrong"))
    with slots.slot("client:192.0.2.8", 10) as suspect:
        assert suspect is True
    clock.now += SUSPECT_SECONDS
    with slots.slot("client:192.0.2.8", 10) as suspect:
        assert suspect is False


def test_a_held_back_answer_counts_as_a_failure_and_a_server_fault_does_not():
    slots = SignInSlots()
    failed_sign_in(slots, "client:192.0.2.5", LoginDelayed("no answer"))
    failed_sign_in(slots, "client:192.0.2.6", ServiceUnavailable("Dovecot is down"))
    with slots.slot("client:192.0.2.5", 10):
        with pytest.raises(AlreadySigningIn), slots.slot("client:192.0.2.5", 10):
            pass
    with slots.slot("client:192.0.2.6", 10), slots.slot("client:192.0.2.6", 10):
        pass


def test_a_failure_while_another_sign_in_is_under_way_holds_the_next_one_back():
    # A burst sent at once all starts before any fails; once one has, the rest wait their turn.
    slots = SignInSlots()
    with slots.slot("client:192.0.2.7", 10):
        failed_sign_in(slots, "client:192.0.2.7", AuthenticationFailed("wrong"))
        with pytest.raises(AlreadySigningIn), slots.slot("client:192.0.2.7", 10):
            pass


@pytest.fixture
def policy():
    """The policy server on a free loopback port, limiting to one failure; yields a poster."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stop = serve_in_thread("127.0.0.1", port, KEY, FailedLogins("1 per minute"))

    def post(command: str, body: dict, key: str = KEY) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/?command={command}", json.dumps(body).encode(),
            {"Content-Type": "application/json", "X-API-Key": key})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, {}

    yield post
    stop()


def test_policy_server_refuses_an_address_past_the_limit(policy):
    login = {"remote": "192.0.2.9", "protocol": "imap"}
    assert policy("allow", login) == (200, {"status": 0})
    assert policy("report", {**login, "success": False, "policy_reject": False}) == (200, {})
    assert policy("allow", login) == (200, {"status": -1, "msg": REFUSAL})
    assert policy("allow", {**login, "remote": "192.0.2.10"}) == (200, {"status": 0})


def test_policy_server_answers_only_dovecot_and_its_protocol(policy):
    failure = {"remote": "192.0.2.11", "success": False, "policy_reject": False}
    assert policy("report", failure, key="not the key")[0] == 403
    assert policy("allow", {"remote": "192.0.2.11"}) == (200, {"status": 0})  # nothing counted
    assert policy("forget", failure)[0] == 400
    assert policy("allow", ["not", "an", "object"])[0] == 400


def handed_on(bodies: list[dict], callback: str) -> list[tuple]:
    """Report each of BODIES (over REPORT_FIELDS) to a policy server whose CALLBACK
    (on_master_login, on_app_login) records what it is handed; return that."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    seen = []
    stop = serve_in_thread("127.0.0.1", port, KEY, FailedLogins("5 per minute"),
                           **{callback: lambda *login: seen.append(login)})
    try:
        for body in bodies:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/?command=report", json.dumps({**REPORT_FIELDS, **body}).encode(),
                {"Content-Type": "application/json", "X-API-Key": KEY})
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 200
        deadline = time.monotonic() + 5  # handed on after the answer, in the handler's thread
        while not seen and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # a wrongly handed-on report would arrive meanwhile
    finally:
        stop()
    return seen


REPORT_FIELDS = {"remote": "192.0.2.20", "protocol": "imap", "user": "anna@x.test", "master": "", "app": ""}


def test_policy_server_hands_on_successful_master_logins_only():
    seen = handed_on([{"master": "root", "success": False}, {"master": "", "success": True},
                      {"master": "root", "success": True}], "on_master_login")
    assert seen == [("anna@x.test", "root", "imap", "192.0.2.20")]


def test_policy_server_hands_on_successful_app_password_logins_only():
    seen = handed_on([{"app": "7", "success": False}, {"app": "", "success": True},
                      {"app": "x; DROP", "success": True}, {"app": "7", "success": True}], "on_app_login")
    assert seen == [(7, "192.0.2.20")]
