"""The limits on password guesses: per address (shared by every form that checks a
password) and per client, and on sign-ins under way."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from flask import current_app, request

from core.extensions import limiter
from core.mail import imap
from core.mail.errors import LoginDelayed, ServiceUnavailable
from core.services.access import signin, throttle

# Sign-ins under way in this process (each holds a waitress thread while Dovecot answers).
SLOTS = throttle.SignInSlots()

# One bucket per address for the sign-in form and the password-change form: guessing the
# current password on the settings page is guessing a login.
SCOPE = "password-guesses"


def guess_limit(address: Callable[[], str], deduct_when: Callable) -> Callable:
    """Limit POSTs to LOGIN_LIMIT_ADDRESS per normalised ADDRESS() (a decorator).

    DEDUCT_WHEN(response) says whether the answer was a wrong guess.
    """
    return limiter.shared_limit(
        lambda: current_app.config["LOGIN_LIMIT_ADDRESS"], scope=SCOPE, methods=["POST"],
        key_func=lambda: signin.limit_key(address()), deduct_when=deduct_when)


def sign_in_limits(address: Callable[[], str], deduct_when: Callable) -> Callable:
    """A sign-in step's limits (a decorator): LOGIN_LIMIT_IP per client, and the guesses
    at the normalised ADDRESS() shared with every form that checks a password."""
    per_client = limiter.limit(lambda: current_app.config["LOGIN_LIMIT_IP"], methods=["POST"],
                               key_func=client_key, deduct_when=deduct_when)

    def decorate(view: Callable) -> Callable:
        return per_client(guess_limit(address, deduct_when)(view))
    return decorate


def client_key() -> str:
    """The client a per-client limit counts: its IPv4 address, or its IPv6 /64
    (a request from 2001:db8::7 counts as 'client:2001:db8::/64')."""
    return "client:" + throttle.client_network(request.remote_addr or "")


@contextmanager
def sign_in_slot() -> Iterator[float]:
    """Hold a slot for this client's sign-in; AlreadySigningIn when it failed lately and
    has one under way, ServerBusy when MAILROOM_SIGNIN_CONCURRENCY sign-ins are and none
    ends within MAILROOM_SIGNIN_TIMEOUT seconds.

    Yields the seconds its LOGIN may wait for an answer: MAILROOM_SIGNIN_TIMEOUT from a
    client that failed lately, whose answers Dovecot holds back on purpose (the thread is
    soon free again); MAILROOM_MAIL_TIMEOUT from any other, whose LOGIN is slow only when
    the mail server is (a busy machine is no reason to refuse a right password). Such a
    LOGIN left unanswered is the server's fault (ServiceUnavailable), not the client's.
    """
    config = current_app.config
    with SLOTS.slot(client_key(), config["SIGNIN_CONCURRENCY"], config["SIGNIN_TIMEOUT"]) as suspect:
        if suspect:
            yield config["SIGNIN_TIMEOUT"]
            return
        try:
            yield config["MAIL_TIMEOUT"]
        except LoginDelayed as exc:
            raise ServiceUnavailable(imap.SERVICE, str(exc)) from exc
