"""The worker's scheduled sender: Send later, and Send once its seconds of Undo are over.

A thread of the worker (root), because only root reads the key that opens the mail
password sealed with each message (stack/secretfiles.py). It looks at the database
every POLL seconds, so a message goes out at most that long after its time, and after
a restart it sends whatever fell due while it was stopped. A message the worker had
taken when it stopped may have gone out: it is shown as failed, never sent twice.
The sending itself is core/services/mail/scheduled.py.
"""
from __future__ import annotations

import logging
from typing import Callable

from ..background import repeat

log = logging.getLogger("mailroom.worker.sender")
POLL = 1.0  # seconds between looks at the schedule


def password_of(layout, row) -> str:
    """The mail password sealed with ROW for ROW's address; VaultError when it does not open."""
    from core.vault import VaultError

    from ..privileged import SEND_PURPOSE
    from ..secretfiles import unseal_fields

    found = unseal_fields(layout, row.sealed_credential)
    if found.get("purpose") != SEND_PURPOSE or found.get("address") != row.address:
        raise VaultError("the credential was sealed for something else")
    return str(found.get("password", ""))


def send_due(database, cfg: dict) -> int:
    """Send every message whose time has come; how many went out."""
    from core.models.scheduled import ScheduledMessage
    from core.services.mail import scheduled
    from core.vault import VaultError

    from ..layout import Layout

    layout = Layout.from_config(cfg)
    with database.transaction() as session:
        due = scheduled.take_due(session)
    sent = 0
    for message_id in due:
        with database.transaction() as session:
            row = session.get(ScheduledMessage, message_id)
            try:
                password = password_of(layout, row)
            except VaultError as exc:
                log.error("scheduled message %s: %s", message_id, exc)
                scheduled.give_up(session, row, "The sign-in kept with this message cannot be "
                                                "opened. Edit it and send it again.")
                continue
            sent += scheduled.deliver(session, row, password, cfg)
    return sent


def start(database, settings: Callable[[], dict]) -> Callable[[], None]:
    """Run the sender in a thread (SETTINGS gives the current settings); a stop function."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.services.mail import scheduled

    with database.transaction() as session:
        left = scheduled.mark_interrupted(session)
    if left:
        log.warning("%d scheduled message(s) were being sent when the worker stopped", left)

    def step() -> None:
        try:
            send_due(database, settings())
        except SQLAlchemyError as exc:
            log.warning("database unavailable: %s", exc)

    return repeat("scheduled-sender", POLL, step, log)
