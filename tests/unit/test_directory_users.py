"""The worker's record of directory users and their orphaned folders (issue 19), on a
migrated SQLite database: what a read records, what it orphans, and what it never does."""
from datetime import datetime, timezone

from sqlalchemy import select

from core.models import DirectoryPerson
from core.services.directory import directory_users

CFG = {"STACK_DIR": "/srv/stack", "DATA_DIR": "/srv"}


def rows(session) -> dict[str, tuple]:
    return {r.directory_id: (r.address, r.present, r.folder_bytes) for r in session.scalars(select(DirectoryPerson))}


def test_a_read_records_people_orphans_their_folders_and_forgets_what_is_gone(session):
    measured = []

    def size_of(directory_id: str) -> int:
        measured.append(directory_id)
        return 4096

    directory_users.record_read(session, {"id-a": "ann@example.test", "id-b": "bob@example.test"},
                                {"id-a", "id-b", "id-old"}, size_of)
    assert rows(session) == {"id-a": ("ann@example.test", True, None), "id-b": ("bob@example.test", True, None),
                             "id-old": ("", False, 4096)}  # a folder from before any record
    directory_users.record_read(session, {"id-a": "ann@example.test", "id-new": "bob@example.test"},
                                {"id-a", "id-b", "id-old"}, size_of)
    assert rows(session)["id-b"] == ("bob@example.test", False, 4096)  # orphaned: last address kept
    assert rows(session)["id-new"] == ("bob@example.test", True, None)  # the address's new holder
    assert measured == ["id-old", "id-b"]  # each orphan measured once
    directory_users.record_read(session, {"id-a": "ann@example.test"}, {"id-a"}, size_of)
    assert directory_users.orphans(session, CFG) == []  # folders gone (erased, archived): nothing to list


def test_a_read_that_found_nobody_orphans_nobody(session):
    when = datetime(2026, 12, 1, tzinfo=timezone.utc)
    directory_users.record_read(session, {"id-a": "ann@example.test"}, {"id-a"}, lambda i: 1, when)
    directory_users.record_read(session, {}, {"id-a"}, lambda i: 1)  # a filter that matches nobody
    assert rows(session) == {"id-a": ("ann@example.test", True, None)}
    assert directory_users.orphans(session, CFG) == []


def test_extra_addresses_are_those_the_addresss_present_holder_was_last_read_with(session):
    directory_users.record_read(session, {"id-a": "ann@example.test"}, set(), lambda i: 0,
                                extras={"id-a": ["anna@example.test", "a.n@example.test"]})
    assert directory_users.extra_addresses(session, "ann@example.test") == ["anna@example.test", "a.n@example.test"]
    # A new person given the address, while the old one's folder is orphaned: not theirs.
    directory_users.record_read(session, {"id-b": "ann@example.test"}, {"id-a"}, lambda i: 0)
    assert directory_users.extra_addresses(session, "ann@example.test") == []


def test_what_is_kept_by_an_address_goes_when_someone_else_holds_it(session):
    from core.models import AppPassword, TwoFactor
    from core.services.access import app_passwords

    def kept(address: str) -> int:
        return sum(session.query(model).filter_by(address=address).count() for model in (AppPassword, TwoFactor))

    people = {"id-a": "ann@example.test", "id-b": "bob@example.test", "id-c": "cy@example.test"}
    for address in people.values():
        app_passwords.create(session, address, "Phone")
        session.add(TwoFactor(address=address, secret="JBSWY3DPEHPK3PXP"))
    session.flush()
    assert directory_users.record_read(session, people, set(), lambda i: 0) == []  # the first read ever
    # A newcomer sets up a second factor before the worker's first read of them: theirs.
    session.add(TwoFactor(address="dee@example.test", secret="JBSWY3DPEHPK3PXP"))
    # ann leaves and her address goes to someone new; bob is renamed; cy is missing from one read.
    assert directory_users.record_read(session, {"id-new": "ann@example.test", "id-b": "robert@example.test",
                                                 "id-d": "dee@example.test"},
                                       set(), lambda i: 0) == ["ann@example.test", "bob@example.test"]
    assert kept("ann@example.test") == 0  # her app password would open the newcomer's mail
    assert kept("bob@example.test") == 0  # of no use to robert, and would serve bob@'s next holder
    assert kept("cy@example.test") == 2 and kept("dee@example.test") == 1
    assert directory_users.record_read(session, {"id-new": "ann@example.test", "id-b": "robert@example.test",
                                                 "id-c": "cy@example.test", "id-d": "dee@example.test"},
                                       set(), lambda i: 0) == []  # cy is back, with all she had
    assert kept("cy@example.test") == 2
