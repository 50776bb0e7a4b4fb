"""The database locked by another writer: the request waits and retries, then says so plainly."""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager

import pytest

from core.extensions import db
from core.services.personal import forwarding
from stack.layout import database_path
from tests.helpers import (
    csrf_token, deliver_raw, message, new_address, signed_in_client, wait_for_subject,
)
from tests.integration.portal_support import unique

from .support import count

BUSY_TIMEOUT = 1  # seconds; the default (15) would make this test slow


@pytest.fixture
def impatient_app(app, mail_stack):
    """The app with a short busy timeout.

    create_app binds the one shared database extension to its own engine: the session
    app's engine (and busy timeout) is put back afterwards.
    """
    from app import create_app

    yield create_app({**mail_stack, "ENV": "testing", "DB_BUSY_TIMEOUT": BUSY_TIMEOUT})
    db.configure(app.config["DATABASE_URL"], busy_timeout=app.config["DB_BUSY_TIMEOUT"])


@contextmanager
def write_lock(cfg: dict):
    """Another program holds the database's write lock (BEGIN IMMEDIATE) inside the block."""
    holder = sqlite3.connect(database_path(cfg["DATABASE_URL"]), isolation_level=None,
                             check_same_thread=False)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield holder
    finally:
        holder.close()  # rolls back what is still open


def forward_to(web, token: str, target: str):
    """Send the forwarding form: all mail to TARGET, keeping a copy."""
    return web.post("/settings/forwarding",
                    data={"target": target, "keep": "on", "csrf_token": token})


def forwarding_of(stack_db, address: str) -> str | None:
    with stack_db.transaction() as session:
        return forwarding.get_forwarding(session, address).target


def test_database_locked_retries_then_gives_a_clear_page_and_works_after(
        impatient_app, mail_stack, stack_db, domain):
    person = new_address(stack_db, domain, "locked", spam_to_junk=False)
    target = new_address(stack_db, domain, "target", spam_to_junk=False)
    web = signed_in_client(impatient_app, person)
    token = csrf_token(web.get("/settings/forwarding").get_data(as_text=True))
    during = unique("during-lock")

    with write_lock(mail_stack):
        refused = forward_to(web, token, target)
        page = refused.get_data(as_text=True)
        assert refused.status_code == 503, page[-2000:]
        assert "The database is busy" in page and "nothing was saved" in page
        assert "Traceback" not in page and "OperationalError" not in page
        # Mail never waits for the web app's database (WAL: readers pass a writer).
        deliver_raw(mail_stack, person, bytes(message("ann@outside.test", person, during)))
        wait_for_subject(mail_stack, person, during)
    assert forwarding_of(stack_db, person) is None

    with write_lock(mail_stack) as holder:
        # Released while the request waits on it: SQLite's busy handler retries and succeeds.
        released = []
        release = threading.Timer(BUSY_TIMEOUT / 2,
                                  lambda: released.append(holder.execute("ROLLBACK")))
        release.start()
        saved = forward_to(web, token, target)
        release.cancel()
        assert released, "the request must have been answered after the lock was released"
    assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]
    assert forwarding_of(stack_db, person) == target

    after = unique("after-lock")
    deliver_raw(mail_stack, person, bytes(message("ann@outside.test", person, after)))
    wait_for_subject(mail_stack, target, after)
    assert count(mail_stack, person, "INBOX", during) == 1
    assert count(mail_stack, person, "INBOX", after) == 1  # the copy it keeps
    assert count(mail_stack, target, "INBOX", after) == 1
