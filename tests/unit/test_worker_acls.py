"""When the worker checks shared mailboxes' ACLs: a minute after it starts (Dovecot starts
after it), again a minute after a failure, then every few minutes (stack/worker/acls.py)."""
from __future__ import annotations

from core.mail.errors import ServiceUnavailable
from stack.worker import acls


def test_first_after_start_retried_after_a_failure_then_every_period(monkeypatch):
    now, passes, failing = [0.0], [], [True]

    def fake_reconcile(cfg, database):
        passes.append(now[0])
        if failing[0]:
            raise ServiceUnavailable("mail server (Dovecot)", "not up yet")
        return []

    monkeypatch.setattr(acls, "reconcile", fake_reconcile)
    check = acls.AclCheck(None, dict, period=300, clock=lambda: now[0])
    for minute in range(12):  # the worker's housekeeping, once a minute
        now[0] = minute * 60.0
        failing[0] = minute < 2  # Dovecot answers from the third minute on
        check()
    assert passes == [60.0, 120.0, 420.0]
