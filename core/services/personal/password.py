"""Changing one's own password: checked by Dovecot, stored in the scheme Dovecot verifies.

Dovecot and Postfix read the hash from the database on every login (no auth cache),
so the new password works for IMAP and SMTP at once. Every other web session of the
person ends; the current one keeps working because its sealed credential is renewed.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from core import passwords, vault
from core.i18n import lazy_gettext as _l
from core.mail import imap
from core.mail.errors import AuthenticationFailed
from core.models import WebSession
from core.services.access import signin
from core.services.directory.lookup import get_mailbox

from .validation import InvalidField


def change_password(db: Session, settings: imap.ImapSettings, owner: str, current: str,
                    new: str, repeat: str, session_id: str, key: str,
                    client_ip: str | None = None) -> list[str]:
    """Replace OWNER's password; returns the ids of the web sessions that were ended."""
    if not current:
        raise InvalidField("current", _l("Type your current password."))
    if new != repeat:
        raise InvalidField("repeat", _l("The two new passwords are not the same."))
    if new == current:
        raise InvalidField("new", _l("The new password is the same as the current one."))
    try:
        passwords.check_rules(new, owner)
    except passwords.WeakPassword as exc:
        raise InvalidField("new", _l('Password refused: %(exc)s', exc=exc)) from exc
    try:
        imap.close(imap.login(settings, owner, current, client_ip))
    except AuthenticationFailed as exc:
        raise InvalidField("current", _l("The current password is wrong.")) from exc
    mailbox = get_mailbox(db, owner)
    mailbox.password_hash = passwords.hash_password(new)
    web_session = db.get(WebSession, session_id)
    # A session of two-factor sign-in holds its own credential, which stays valid.
    if web_session is not None and not signin.has_web_credential(db, session_id):
        web_session.sealed_credential = vault.seal(key, new)
    ended = signin.end_sessions(db, owner, keep=session_id)
    db.commit()  # the new password and the ended sessions in one transaction
    return ended
