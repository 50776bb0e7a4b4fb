"""The master user's password (`settings master-password`): checked, hashed, stored, audited.

Dovecot's master passdb reads the hash live from the private database
(stack/templates/dovecot/dovecot-master.conf.ext), so a new password needs no reload.
The switch itself is a server setting (`master_user`, core/services/server/settings.py).
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.models.server import MASTER_NAME, MasterCredential
from core.passwords import WeakPassword, check_rules, hash_password
from core.services.access import audit
from core.services.errors import InvalidInput

NO_PASSWORD = ("There is no master password yet: set one first "
               "(`flask --app app settings master-password --password-stdin`).")


def has_password(db: Session) -> bool:
    """Whether a master password is stored."""
    return db.get(MasterCredential, MASTER_NAME) is not None


def set_password(db: Session, password: str, actor: str) -> bool:
    """Store PASSWORD's hash as the master password (audited, never the password);
    True when one was replaced. An empty or weak password changes nothing."""
    if not password:
        raise InvalidInput(_l("The master password is empty: nothing changed."))
    try:
        check_rules(password)
    except WeakPassword as exc:
        raise InvalidInput(_l('Master password: %(exc)s Nothing changed.', exc=exc)) from None
    row = db.get(MasterCredential, MASTER_NAME)
    replaced = row is not None
    if row is None:
        db.add(MasterCredential(name=MASTER_NAME, password_hash=hash_password(password)))
    else:
        row.password_hash = hash_password(password)
    audit.record(db, actor, "update", "server", "master password",
                 before={"master_password": "set" if replaced else "none"},
                 after={"master_password": "replaced" if replaced else "set"})
    db.commit()
    return replaced
