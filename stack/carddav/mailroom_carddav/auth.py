"""Radicale's login check (`[auth] type = mailroom_carddav.auth`): the same as Dovecot's.

Each login is an IMAP AUTHENTICATE PLAIN to the stack's Dovecot on loopback, so
database users, directory users and app passwords all work, a disabled mailbox or one
without IMAP is refused, and a two-factor person's main password is refused exactly as
on IMAP. The CardDAV client's address goes along in IMAP ID (`x-originating-ip`; the
plugin connects from the app's trusted address), so Dovecot's failed-login penalty and
the worker's per-address login limit fall on that client, not on Radicale.
The webmail logs in with a signed short-lived token instead (token.py).
Standard library only: this runs in Radicale's process (Debian's python3).
"""
from __future__ import annotations

import imaplib
import ipaddress
import logging
import threading

from radicale import auth

from . import token

log = logging.getLogger("radicale")
TIMEOUT = 20.0  # Dovecot holds back answers to an address that failed before (up to ~15 s)


class Auth(auth.BaseAuth):
    """Checks CardDAV logins with Dovecot; answers the login (lower-cased) or ''."""

    def __init__(self, configuration) -> None:
        super().__init__(configuration)
        self.host = configuration.get("auth", "imap_host")
        self.port = int(configuration.get("auth", "imap_port"))
        self.web_key = configuration.get("auth", "web_key")
        self.client = threading.local()  # Radicale serves each request in a thread

    def get_external_login(self, environ):
        """Remember the client's address for login(); Radicale still reads Basic auth."""
        self.client.address = client_address(environ)
        return ()

    def login(self, login: str, password: str) -> str:
        user = login.strip().lower()
        # A master-user login (ADDRESS*root) opens mail only, never someone's contacts.
        if not user or "*" in user or "@" not in user:
            return ""
        if password.startswith(token.PREFIX):
            return user if token.valid(self.web_key, user, password) else ""
        return user if self._dovecot_accepts(user, password) else ""

    def _dovecot_accepts(self, user: str, password: str) -> bool:
        try:
            with imaplib.IMAP4(self.host, self.port, timeout=TIMEOUT) as imap:
                address = getattr(self.client, "address", "")
                if address:
                    imap.xatom("ID", f'("name" "Mailroom CardDAV" "x-originating-ip" "{address}")')
                credentials = b"\0" + user.encode() + b"\0" + password.encode()
                imap.authenticate("PLAIN", lambda _: credentials)
                imap.logout()
                return True
        except imaplib.IMAP4.error:
            return False
        except OSError as exc:
            log.error("cannot reach Dovecot at %s:%s to check a login: %s", self.host, self.port, exc)
            return False


def client_address(environ) -> str:
    """The CardDAV client's address: the peer's, or, when the peer is a reverse proxy on
    this machine, the last address it put in X-Forwarded-For (a local process could name
    any address to Dovecot in IMAP ID anyway, so believing loopback peers adds nothing)."""
    peer = _ip(environ.get("REMOTE_ADDR", ""))
    forwarded = environ.get("HTTP_X_FORWARDED_FOR", "").rpartition(",")[2].strip()
    if peer and ipaddress.ip_address(peer).is_loopback and _ip(forwarded):
        return _ip(forwarded)
    return peer


def _ip(text: str) -> str:
    """TEXT if it is an IP address (it goes into an IMAP string), else ''."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return ""
