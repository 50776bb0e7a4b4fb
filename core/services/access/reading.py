"""A server admin reads another person's mailbox in the webmail through the master user.

The web session is that person's (their folders, their preferences), but its IMAP
login is `ADDRESS*root` with the master password the admin typed: Dovecot's master
passdb checks it (only while Admin → Server's switch is on) and the worker's auth
policy server records the login with the browser's address. Here the admin's own
action is audited too, under the admin's name. The master password opens IMAP and
POP3 only, so such a session cannot send (submission refuses it): the webmail hides
Compose there (portal/auth/reading.py).
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.mail import imap
from core.mail.errors import AuthenticationFailed
from core.models.server import master_login
from core.services.access import audit
from core.services.errors import ServiceError

from .signin import SignedIn, start_session


class MasterUserOff(ServiceError):
    """The master user is switched off (Admin → Server)."""


def open_mailbox(db: Session, settings: imap.ImapSettings, address: str, master_password: str,
                 enabled: bool, actor: str, client_ip: str | None, wait: float | None = None) -> SignedIn:
    """A web session on ADDRESS's mailbox through the master login (audited as ACTOR's);
    MasterUserOff unless ENABLED, AuthenticationFailed for a wrong master password."""
    if not enabled:
        raise MasterUserOff(_l("The master user is off: turn it on under Admin → Server first."))
    if not master_password:
        raise AuthenticationFailed(_l("Type the master password."))
    try:
        client = imap.login(settings, master_login(address), master_password, client_ip, wait)
    except AuthenticationFailed as exc:
        raise AuthenticationFailed(_l("Wrong master password.")) from exc
    audit.record(db, actor, "login", "mailbox", address, domain=address.rpartition("@")[2],
                 after={"webmail": "opened as the master user", "client": client_ip or ""})
    return start_session(db, address, master_password, client)
