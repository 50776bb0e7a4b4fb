"""The signed-in person: flask-login's user, their roles and their mail connection."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from functools import cached_property
from typing import Any, Iterator

from flask import current_app, request, session
from flask_login import UserMixin, current_user

from core.extensions import db, imap_pool, login_manager
from core.i18n import lazy_gettext as _l
from core.mail import imap
from core.mail.errors import MailError
from core.models.server import master_login
from core.services.access import roles, signin
from core.services.directory import directory_users
from core.services.server import mailstore

log = logging.getLogger(__name__)
VAULT_KEY = "vault"
# Set while a server admin reads this session's mailbox through the master user
# (portal/auth/reading.py): the admin's own session to return to.
READING_KEY = "reading"
NOT_KICKED = (_l("Mail programs that were connected could not be disconnected just now: sign "
              "them out and in again."))


class User(UserMixin):
    """A signed-in web session; get_id() is the server-side session id."""

    def __init__(self, session_id: str, address: str, reader: str | None = None) -> None:
        self.id = session_id
        self.address = address
        self.reader = reader  # the server admin reading this mailbox, if one is

    @property
    def login(self) -> str:
        """The IMAP login: the address, or ADDRESS*root while an admin reads the mailbox."""
        return master_login(self.address) if self.reader else self.address

    @cached_property
    def roles(self) -> roles.Roles:
        """This person's admin roles, read once per request (a directory user's by their
        stable id: core/services/directory/directory_users.py)."""
        return directory_users.roles_of(db.session, current_app.config, self.address)

    @cached_property
    def from_directory(self) -> bool:
        """Whether this person's account comes from the LDAP directory, which then keeps
        their password and sign-in rules (read once per request)."""
        return directory_users.is_directory_user(db.session, current_app.config, self.address)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Resume the web session if it is neither idle too long nor too old, and the cookie
    holds its key."""
    if not session.get(VAULT_KEY):
        return None
    web_session = signin.active_session(db.session, session_id,
                                        *signin.lifetimes(current_app.config))
    if web_session is None:
        return None
    note = session.get(READING_KEY)
    return User(web_session.id, web_session.address, note.get("admin") if isinstance(note, dict) else None)


def client_ip() -> str:
    """The browser's address, as the WSGI server reports it."""
    return request.remote_addr or ""


def imap_settings() -> imap.ImapSettings:
    """IMAP settings from the app's configuration."""
    return imap.ImapSettings.from_config(current_app.config)


def password() -> str:
    """The signed-in person's mail password, unsealed with the cookie's key."""
    return signin.credential(db.session, current_user.id, session[VAULT_KEY])


@contextmanager
def mail_connection(folder: str | None = None) -> Iterator[Any]:
    """A logged-in IMAP connection for this request, reused across requests.

    FOLDER, when the request works in one, picks a connection that has it open.

    Connections are pooled per address, not per browser: signing in again (or from a
    second device) reuses them instead of piling up against Dovecot's per-user limit.
    """
    # Keyed by the login: a master-user session never shares the person's own connections.
    with imap_pool.connection(current_user.login, own_mail_connection, folder) as client:
        yield client


def own_mail_connection() -> Any:
    """A new logged-in IMAP connection outside the pool; the caller closes it.

    For a caller that holds it for minutes (the new-mail stream): a pooled connection
    must come back within one request.
    """
    return imap.login(imap_settings(), current_user.login, password(), client_ip())


def end_mail_sessions(address: str) -> bool:
    """End ADDRESS's IMAP/POP3 sessions after a password change; False when that failed.

    A web session that carries on loses its pooled connections too; its next request
    logs in anew with the credential sealed for the new password.
    """
    imap_pool.discard(address)
    try:
        mailstore.kick(current_app.config, address)
    except MailError as exc:  # the password is changed; only the disconnecting failed
        log.warning("could not end the IMAP sessions of %s: %s", address, exc)
        return False
    return True
