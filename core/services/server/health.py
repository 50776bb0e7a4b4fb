"""Whether the parts a person's request needs answer: for load balancers and monitoring."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.mail import imap, smtp
from core.mail.errors import ServiceUnavailable

log = logging.getLogger(__name__)


def check(db: Session, cfg: dict) -> dict[str, bool]:
    """{'database': True, 'imap': True, 'submission': False}: each part, answering or not.

    Says nothing else (no versions, hosts or errors): the answer is public.
    """
    return {"database": _database(db), "imap": _answers(imap.probe, imap.ImapSettings.from_config(cfg)),
            "submission": _answers(smtp.probe, smtp.SmtpSettings.submission(cfg))}


def _database(db: Session) -> bool:
    try:
        db.execute(select(1))
    except SQLAlchemyError as exc:
        log.warning("health: database: %s", exc)
        db.rollback()
        return False
    return True


def _answers(probe, settings) -> bool:
    try:
        probe(settings)
    except ServiceUnavailable as exc:
        log.warning("health: %s", exc)
        return False
    return True
