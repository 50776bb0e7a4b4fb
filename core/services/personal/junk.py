"""Spam handling: "move spam to Junk" and how long Junk keeps messages.

Both are read by Dovecot's userdb (stack/templates/dovecot/dovecot-sql.conf.ext, and
dovecot/directory/dovecot-directory-sql.conf.ext for a directory user's by stable id): the
first switches the before-script 10-mailroom-junk.sieve on, the second becomes the
Junk folder's `autoexpunge`, so Dovecot itself deletes old Junk, whoever is logged in.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.models import Setting
from .holder import settings_row
from .validation import whole_number

# The settings row with the server default (migration 0003 writes 30); 0 keeps Junk forever.
SETTING = "junk_retention_days"
MAX_DAYS = 3650


@dataclass(frozen=True)
class JunkSettings:
    """One person's spam handling, e.g. JunkSettings(True, None, 30) (server default)."""

    spam_to_junk: bool
    days: int | None
    server_days: int

    @property
    def effective_days(self) -> int:
        """The retention Dovecot applies: the mailbox's own, else the server's (0: forever)."""
        return self.server_days if self.days is None else self.days


def server_days(db: Session) -> int:
    """The server's default Junk retention in days (0: keep)."""
    row = db.get(Setting, SETTING)
    try:
        return int(json.loads(row.value)) if row else 0
    except (ValueError, TypeError):
        return 0


def set_server_days(db: Session, days: int) -> int:
    """Set the server's default Junk retention (admin); applies at the next login or delivery."""
    days = whole_number("server_days", days, _l("The number of days"), 0, MAX_DAYS)
    row = db.get(Setting, SETTING)
    if row is None:
        db.add(Setting(key=SETTING, value=json.dumps(days)))
    else:
        row.value = json.dumps(days)
    db.flush()
    return days


def get_junk(db: Session, owner: str, cfg: dict | None = None) -> JunkSettings:
    """The spam handling of OWNER (CFG: a directory user's too, by stable id)."""
    row = settings_row(db, owner, cfg)
    return JunkSettings(row.spam_to_junk, row.junk_days, server_days(db))


def set_junk(db: Session, owner: str, spam_to_junk: bool, days: str | int | None,
             cfg: dict | None = None) -> JunkSettings:
    """Set OWNER's spam handling; DAYS None or '' follows the server default."""
    row = settings_row(db, owner, cfg, create=True)
    row.spam_to_junk = spam_to_junk
    blank = days is None or (isinstance(days, str) and not days.strip())
    row.junk_days = None if blank else whole_number("days", days, _l("The number of days"), 0, MAX_DAYS)
    db.flush()
    return JunkSettings(row.spam_to_junk, row.junk_days, server_days(db))
