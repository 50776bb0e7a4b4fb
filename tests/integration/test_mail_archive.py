"""Kept mail is archived, never handed to the next owner of an address (issue 12 item 4)."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from core.models import AdminJob
from core.models.jobs import DONE, QUEUED
from core.services.directory import archives, domains, lookup, mailboxes
from core.services.errors import AlreadyExists
from core.services.server import mailstore
from tests.helpers import PASSWORD, imap_login, new_address, submit, wait_for_subject

pytestmark = pytest.mark.directory  # run again on PostgreSQL (stack/test.sh)

NEW_PASSWORD = "another-owner-pass-9"


def _wait_jobs_done(db, address: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.transaction() as session:
            states = list(session.scalars(select(AdminJob.state).where(AdminJob.target == address)))
        if all(s == DONE for s in states):  # none at all: nothing was queued
            return
        time.sleep(0.2)
    raise AssertionError(f"jobs for {address} not done: {states}")


def _subjects(cfg: dict, address: str, password: str) -> list[bytes]:
    client = imap_login(cfg, address, password)
    try:
        client.select_folder("INBOX", readonly=True)
        fetched = client.fetch(client.search(["ALL"]), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        return [v[b"BODY[HEADER.FIELDS (SUBJECT)]"].strip() for v in fetched.values()]
    finally:
        client.logout()


def _remove(db, cfg, address: str) -> None:
    with db.transaction() as session:
        mailbox = lookup.get_mailbox(session, address)
        mailboxes.delete_mailbox(session, "test", mailbox, False, mailstore.mail_home(cfg, address))


def _removed_and_re_added(cfg, db, domain: str, prefix: str) -> tuple[str, str]:
    """A mailbox that got a message, was removed (its mail archived) and was created
    again with NEW_PASSWORD; (address, the message's subject)."""
    address = new_address(db, domain, prefix, spam_to_junk=False)
    subject = f"{prefix} {uuid.uuid4().hex}"
    submit(cfg, address, address, subject)
    wait_for_subject(cfg, address, subject)
    _remove(db, cfg, address)
    _wait_jobs_done(db, address)
    with db.transaction() as session:
        lookup.add_mailbox(session, address, NEW_PASSWORD)
    return address, subject


def test_a_re_added_address_starts_with_an_empty_mailbox(mail_stack, stack_db, domain):
    address, _subject = _removed_and_re_added(mail_stack, stack_db, domain, "previous")
    assert _subjects(mail_stack, address, NEW_PASSWORD) == []
    archived = [a for a in archives.archives(mail_stack) if a.address == address]
    assert len(archived) == 1 and archived[0].path.is_dir()
    root = Path(mail_stack["STACK_DIR"]) / "mail" / ".archive"
    assert root.stat().st_mode & 0o777 == 0o700 and root.stat().st_uid == 0


def test_an_archive_can_be_restored_into_an_unused_mailbox(mail_stack, stack_db, domain):
    address, subject = _removed_and_re_added(mail_stack, stack_db, domain, "restore")
    name = next(a.name for a in archives.archives(mail_stack) if a.address == address)
    with stack_db.transaction() as session:
        archives.restore_archive(session, mail_stack, address, name)
    assert any(subject.encode() in s for s in _subjects(mail_stack, address, NEW_PASSWORD))
    with stack_db.transaction() as session, pytest.raises(AlreadyExists, match="has mail"):
        archives.restore_archive(session, mail_stack, address, name)


def test_the_address_waits_while_its_old_mail_is_being_moved(mail_stack, stack_db, domain):
    address = f"pending-{uuid.uuid4().hex[:6]}@{domain}"
    with stack_db.transaction() as session:
        session.add(AdminJob(kind="archive_mail", target=address, path="/nonexistent",
                             state=QUEUED, requested_by="test"))
        session.flush()
        job_id = session.scalar(select(AdminJob.id).where(AdminJob.target == address))
        # The worker would take it within a second; hold it as a running job instead.
        session.get(AdminJob, job_id).state = "running"
    with stack_db.transaction() as session, pytest.raises(AlreadyExists, match="previous owner"):
        lookup.add_mailbox(session, address, PASSWORD)


def test_deleting_a_domain_archives_its_mailboxes(mail_stack, stack_db):
    name = f"gone{uuid.uuid4().hex[:6]}.test"
    with stack_db.transaction() as session:
        domains.create_domain(session, "test", name)
    address = new_address(stack_db, name, "inside", spam_to_junk=False)
    subject = f"domain mail {uuid.uuid4().hex}"
    submit(mail_stack, address, address, subject)
    wait_for_subject(mail_stack, address, subject)
    with stack_db.transaction() as session:
        domains.delete_domain(session, "test", lookup.get_domain(session, name),
                              mailstore.mail_root(mail_stack))
    _wait_jobs_done(stack_db, address)
    with stack_db.transaction() as session:
        domains.create_domain(session, "test", name)
        lookup.add_mailbox(session, address, NEW_PASSWORD)
    assert _subjects(mail_stack, address, NEW_PASSWORD) == []


def test_cli_lists_and_restores_archives(app, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "clirestore", spam_to_junk=False)
    subject = f"cli {uuid.uuid4().hex}"
    submit(mail_stack, address, address, subject)
    wait_for_subject(mail_stack, address, subject)
    runner = app.test_cli_runner()
    removed = runner.invoke(args=["mailbox", "remove", address, "--json"])
    assert removed.exit_code == 0, removed.output  # failed once in a loaded full run: say why
    _wait_jobs_done(stack_db, address)
    listed = runner.invoke(args=["mailbox", "archives", "--json"])
    import json

    mine = [a for a in json.loads(listed.output) if a["address"] == address]
    assert len(mine) == 1
    with stack_db.transaction() as session:
        lookup.add_mailbox(session, address, NEW_PASSWORD)
    done = runner.invoke(args=["mailbox", "restore", address, mine[0]["name"]])
    assert done.exit_code == 0 and "Restored" in done.output, done.output
