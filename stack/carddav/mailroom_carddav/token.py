"""The webmail's short-lived CardDAV logins: signed by the app, checked by the auth plugin.

The app holds a two-factor person's main password, which Dovecot (and so CardDAV)
refuses outside the web sign-in; instead it presents, as the Basic password, a token
that names the login and an expiry, signed with the web app's key. Standard library only:
Radicale's process (Debian's python3) imports this too.
"""
from __future__ import annotations

import hashlib
import hmac
import time

PREFIX = "mailroom-web:"
LIFETIME = 300  # seconds a token is good for; the app makes a fresh one per request


def _mac(key: str, login: str, expiry: int) -> str:
    message = f"carddav\0{login}\0{expiry}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def make(key: str, login: str, now: float | None = None) -> str:
    """A token for LOGIN, e.g. 'mailroom-web:1765000000:3f9a…'."""
    expiry = int(now if now is not None else time.time()) + LIFETIME
    return f"{PREFIX}{expiry}:{_mac(key, login, expiry)}"


def valid(key: str, login: str, token: str, now: float | None = None) -> bool:
    """Whether TOKEN was made with KEY for LOGIN and has not expired."""
    expiry_text, _, mac = token.removeprefix(PREFIX).partition(":")
    if not key or not token.startswith(PREFIX) or not expiry_text.isdigit():
        return False
    expiry, moment = int(expiry_text), now if now is not None else time.time()
    if not moment <= expiry <= moment + LIFETIME:
        return False
    return hmac.compare_digest(mac, _mac(key, login, expiry))
