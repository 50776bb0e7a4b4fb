"""The worker's reconcile step: shared mailboxes' IMAP ACLs follow the database.

The app grants and revokes owners' rights after its database commit (Dovecot reads the
database from its own processes), so a failure there (Dovecot or this worker down, a
doveadm error) leaves Dovecot behind, and anyone with doveadm, or a member using SETACL
from a mail program, can change an ACL. This step compares and repairs.

Cadence: a minute after the worker starts (`stack up` and systemd start it before
Dovecot, so right at start a pass could only fail), then every RECONCILE_SECONDS; a
pass that fails (Dovecot down) is tried again at the next minute's housekeeping. Five
minutes bounds how long a wrong grant lasts, at little cost for drift that is rare: a
pass sends one doveadm command per folder of each shared mailbox, plus one, and took
0.1 s per shared mailbox of six folders here (Dovecot sets the mail user up for each).
Each repair is logged and audited.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

log = logging.getLogger("mailroom.worker")
RECONCILE_SECONDS = 300.0
START_DELAY = 30.0  # less than the housekeeping's minute: the first pass is its second round
ACTOR = "worker"


def reconcile(cfg: dict, database) -> list:
    """One pass: repair every shared mailbox's ACLs, audited as the worker; the repairs."""
    from core.services.directory import shared

    with database.transaction() as session:
        return shared.reconcile_access(cfg, session, ACTOR)


class AclCheck:
    """Calls reconcile() when due: after START_DELAY, then every PERIOD seconds once a pass
    succeeded (a failed one is due again at once)."""

    def __init__(self, database, settings: Callable[[], dict], period: float = RECONCILE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.database, self.settings = database, settings
        self.period, self.clock = period, clock
        self.next_at = clock() + START_DELAY

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
