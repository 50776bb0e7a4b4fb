"""The worker's reconcile step: shared mailboxes' IMAP ACLs follow the database.

The app grants and revokes owners' rights after its database commit (Dovecot reads the
database from its own processes), so a failure there (Dovecot or this worker down, a
doveadm error) leaves Dovecot behind, and anyone with doveadm, or a member using SETACL
from a mail program, can change an ACL. This step compares and repairs.

Cadence: at the worker's start, then every RECONCILE_SECONDS. At start Dovecot is not up
yet (`stack up` starts the worker first), so a pass that fails is tried again at the
next minute's housekeeping. Five minutes bounds how long a wrong grant can last, and a
pass costs a handful of doveadm commands per shared mailbox (one per folder), which
Dovecot answers in about a millisecond each: the check is cheap, drift is rare, and a
repair is logged and audited either way.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

log = logging.getLogger("mailroom.worker")
RECONCILE_SECONDS = 300.0
ACTOR = "worker"


def reconcile(cfg: dict, database) -> list:
    """One pass: repair every shared mailbox's ACLs, audited as the worker; the repairs."""
    from core.services.directory import shared

    with database.transaction() as session:
        return shared.reconcile_access(cfg, session, ACTOR)


class AclCheck:
    """Calls reconcile() when due: at first, then every PERIOD seconds once a pass succeeded."""

    def __init__(self, database, settings: Callable[[], dict], period: float = RECONCILE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.database, self.settings = database, settings
        self.period, self.clock = period, clock
        self.next_at = clock()

    def __call__(self) -> None:
        """Run a pass if one is due (the worker calls this once a minute)."""
        from core.mail.errors import MailError

        if self.clock() < self.next_at:
            return
        try:
            repairs = reconcile(self.settings(), self.database)
        except MailError as exc:  # Dovecot or the helper not answering (yet): next minute
            log.info("shared mailbox ACLs not checked, trying again in a minute: %s", exc)
            return
        self.next_at = self.clock() + self.period
        if repairs:
            log.warning("repaired %d shared mailbox ACLs (see the audit log)", len(repairs))
