"""Which row keeps a person's own settings (forwarding, spam handling, Junk days).

A database mailbox keeps them in its own columns. A directory user (issue 19) keeps them
in directory_settings under the stable id the directory gives their address now, never
under the address: a renamed person keeps them, a new person given a removed person's
address does not get them. Both rows have the same column names, which Dovecot's two
userdbs hand to the same Sieve before-scripts, so the services below work on either.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import uses_ldap
from core.i18n import N_
from core.i18n import lazy_gettext as _l
from core.ldapdir import listing
from core.ldapdir.people import DirectoryUnavailable
from core.mail.errors import ServiceUnavailable
from core.models import DirectorySettings, Mailbox
from core.services.directory.lookup import valid_address
from core.services.errors import NotFound

DIRECTORY = N_("user directory")


def directory_row(db: Session, directory_id: str, create: bool) -> DirectorySettings:
    """The stored settings of DIRECTORY_ID, or the defaults (added to DB when CREATE)."""
    row = db.get(DirectorySettings, directory_id)
    if row is None:
        row = DirectorySettings(directory_id=directory_id, quota_mb=None, junk_days=None, domain_admin=False,
                                forward_address=None, forward_keep_copy=True, spam_to_junk=True)
        if create:
            db.add(row)
    return row


def settings_row(db: Session, owner: str, cfg: dict | None = None,
                 create: bool = False) -> Mailbox | DirectorySettings:
    """The row of OWNER's settings: their mailbox, else (CFG with a directory) the settings
    of the directory user who has the address OWNER now; NotFound when neither has it,
    ServiceUnavailable while the directory cannot be read."""
    owner = valid_address(owner)
    mailbox = db.scalar(select(Mailbox).where(Mailbox.address == owner))
    if mailbox is not None:
        return mailbox
    if cfg is not None and uses_ldap(cfg):
        try:
            directory_id = listing.address_id(cfg, owner)
        except DirectoryUnavailable as exc:
            raise ServiceUnavailable(DIRECTORY, str(exc)) from exc
        if directory_id:
            return directory_row(db, directory_id, create)
    raise NotFound(_l("There is no mailbox %(address)s.", address=owner))
