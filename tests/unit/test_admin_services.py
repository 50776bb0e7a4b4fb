"""The admin use-cases on a real (migrated SQLite) database, without daemons.

Bad input is refused with a message that says what to fix, and a refused change leaves
nothing behind: each test runs the change in one transaction, as the views and CLI do.
"""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.models import AdminJob, Alias, AuditEntry, Mailbox, PasswordLink, SharedMailbox, TwoFactor
from core.services.access import admin_roles, audit
from core.ldapdir.people import DirectoryUnavailable
from core.services.directory import aliases, directory_groups, domains, groups, links, lookup, mailboxes, shared
from core.services.directory.directory_groups import DirectoryGroup
from core.services.server import jobs
from core.services.errors import AlreadyExists, InvalidInput, NotFound
from core.services.access.roles import Roles
from tests.unit.conftest import DIRECTORY_PASSWORD

PASSWORD = DIRECTORY_PASSWORD
ALL = Roles(server=True)
ME = "boss@example.test"


@pytest.fixture
def db(directory):
    """A session with example.test, other.test and mailboxes ann and bob."""
    with directory.factory() as session:
        yield session


def count(db, model) -> int:
    return db.query(model).count()


@pytest.mark.parametrize("text, expected", [
    ("mail.example.org", ("mail.example.org", 25)), ("MX.Example.org:2525", ("mx.example.org", 2525)),
    ("127.0.0.1:10025", ("127.0.0.1", 10025)), ("[192.0.2.1]:26", ("192.0.2.1", 26)),
])
def test_relay_host_is_parsed(text, expected):
    assert domains.parse_relay(text) == expected


@pytest.mark.parametrize("text", ["", "bad host", "host:0", "host:70000", "h]:25", "a..b:25"])
def test_bad_relay_host_is_refused_with_an_example(text):
    with pytest.raises(InvalidInput, match="mail.example.org:25"):
        domains.parse_relay(text)


@pytest.mark.parametrize("text, megabytes", [("500", 500), ("500M", 500), ("2G", 2048),
                                             ("1.5 GB", 1536), ("", None)])
def test_quota_sizes(text, megabytes):
    assert mailboxes.parse_size_mb(text) == megabytes


@pytest.mark.parametrize("text", ["lots", "-5", "0", "99T"])
def test_bad_quota_is_refused(text):
    with pytest.raises(InvalidInput):
        mailboxes.parse_size_mb(text)


def test_alias_kinds_duplicates_and_idna(db):
    lookup.add_domain(db, "Bücher.Example")
    alias = aliases.create_alias(db, ME, "Info@BÜCHER.example",
                                 [("mailbox", "ann@example.test"), ("external", "bob@example.test"),
                                  "someone@elsewhere.test"])
    assert alias.address == "info@xn--bcher-kva.example"
    assert [d.kind for d in alias.destinations] == ["mailbox", "external", "external"]
    with pytest.raises(AlreadyExists, match="edit it instead"):
        aliases.create_alias(db, ME, "info@xn--bcher-kva.example", ["ann@example.test"])
    with pytest.raises(AlreadyExists, match="is a mailbox already"):
        aliases.create_alias(db, ME, "ann@example.test", ["bob@example.test"])
    with pytest.raises(InvalidInput, match="not a mailbox here"):
        aliases.create_alias(db, ME, "x@example.test", [("mailbox", "ghost@example.test")])
    with pytest.raises(InvalidInput, match="not an e-mail address"):
        aliases.create_alias(db, ME, "y@example.test", ["not an address"])
    with pytest.raises(NotFound):
        aliases.create_alias(db, ME, "z@nowhere.test", ["ann@example.test"])



def test_alias_to_an_address_nothing_here_takes_is_refused_and_named(db):
    # other.test is delivered here: mail to an unknown address there would bounce.
    for destinations in (["nobody@other.test"], [("external", "nobody@other.test")],
                         ["ann@example.test", "Nobody@Other.test"]):
        with pytest.raises(InvalidInput, match="nobody@other.test does not exist here"):
            aliases.create_alias(db, ME, "team@example.test", destinations)
        db.rollback()
    groups.create_group(db, ME, "desk")
    shared.create_shared(db, ME, ALL, "desk@other.test", "", ["desk"])
    sales = aliases.create_alias(db, ME, "sales@other.test", ["ann@example.test"])
    aliases.create_alias(db, ME, "postmaster@*", ["ann@example.test"])
    team = aliases.create_alias(db, ME, "team@example.test", [
        "desk@other.test", "sales@other.test", "postmaster@other.test", "x@elsewhere.test"])
    assert [d.kind for d in team.destinations] == ["shared", "external", "external", "external"]
    aliases.delete_alias(db, ME, sales)
    with pytest.raises(InvalidInput, match="sales@other.test does not exist here"):
        aliases.update_alias(db, ME, team, [d.target for d in team.destinations], True)


def test_a_catch_all_does_not_make_an_alias_destination_exist(db):
    domains.update_domain(db, ME, lookup.get_domain(db, "other.test"), mode="deliver",
                          catch_all="ann@example.test")
    with pytest.raises(InvalidInput, match="nobody@other.test does not exist here.* only the "
                                           "catch-all ann@example.test would take its mail"):
        aliases.create_alias(db, ME, "team@example.test", ["nobody@other.test"])


def test_alias_without_destination_is_refused_and_leaves_nothing(database, db):
    with pytest.raises(InvalidInput, match="at least one destination"):
        with database.transaction() as s:
            aliases.create_alias(s, ME, "empty@example.test", ["", "  "])
    assert count(db, Alias) == 0 and count(db, AuditEntry) == 0


def test_loops_are_refused_with_the_chain(database, db):
    # Destinations must exist, so a loop can only be closed by changing an alias.
    with database.transaction() as s:
        aliases.create_alias(s, ME, "a@example.test", ["ann@example.test"])
        aliases.create_alias(s, ME, "b@example.test", ["a@example.test"])
    with pytest.raises(InvalidInput, match="a@example.test → b@example.test → a@example.test"):
        with database.transaction() as s:
            aliases.update_alias(s, ME, aliases.find_alias(s, "a@example.test"),
                                 ["b@example.test"], False)
    assert [d.target for d in aliases.find_alias(db, "a@example.test").destinations] == [
        "ann@example.test"]
    with pytest.raises(InvalidInput, match="loop"):
        with database.transaction() as s:  # through an alias valid on every domain
            d = aliases.create_alias(s, ME, "d@other.test", ["ann@example.test"])
            aliases.create_alias(s, ME, "c@*", ["d@other.test"])
            aliases.update_alias(s, ME, d, ["c@example.test"], False)
    with pytest.raises(InvalidInput, match="loop"):
        with database.transaction() as s:
            aliases.create_alias(s, ME, "self@example.test", ["self@example.test"])


def test_catch_all_must_exist_and_must_not_loop(database, db):
    domain = lookup.get_domain(db, "other.test")
    with pytest.raises(InvalidInput, match="does not exist here"):
        domains.update_domain(db, ME, domain, mode="deliver", catch_all="nobody@other.test")
    db.rollback()
    domain = lookup.get_domain(db, "other.test")
    x = aliases.create_alias(db, ME, "x@other.test", ["ann@example.test"])
    aliases.create_alias(db, ME, "hop@example.test", ["x@other.test"])
    aliases.delete_alias(db, ME, x)  # hop now leads to whatever takes x@other.test
    with pytest.raises(InvalidInput, match="loop"):
        domains.update_domain(db, ME, domain, mode="deliver", catch_all="hop@example.test")
    db.rollback()
    domain = lookup.get_domain(db, "other.test")
    domains.update_domain(db, ME, domain, mode="deliver", catch_all="ann@example.test",
                          bcc="archive@elsewhere.test")
    assert (domain.catchall_address, domain.bcc_address) == ("ann@example.test", "archive@elsewhere.test")
    with pytest.raises(InvalidInput, match="needs the host"):
        domains.update_domain(db, ME, domain, mode="relay")


def test_domain_deletion_removes_directory_rows_and_empty_aliases(db):
    lookup.add_mailbox(db, "carl@other.test", PASSWORD)
    group = groups.create_group(db, ME, "desk")
    shared.create_shared(db, ME, ALL, "desk@other.test", "", ["desk"])
    aliases.create_alias(db, ME, "only-carl@example.test", ["carl@other.test"])
    aliases.create_alias(db, ME, "both@example.test", ["carl@other.test", "ann@example.test"])
    db.add(TwoFactor(address="carl@other.test", secret="JBSWY3DPEHPK3PXP"))
    found = domains.delete_domain(db, ME, lookup.get_domain(db, "other.test"), Path("/srv/mail"))
    db.expire_all()
    assert found.mailboxes == ["carl@other.test"] and found.shared == ["desk@other.test"]
    assert count(db, TwoFactor) == 0  # what is kept by address goes, as for one deleted mailbox
    assert [a.address for a in db.query(Alias)] == ["both@example.test"]
    assert count(db, SharedMailbox) == 0 and group in db.query(groups.Group).all()
    entry = db.query(AuditEntry).filter_by(kind="domain", action="delete").one()
    assert "carl@other.test" in entry.before


def test_groups_names_members_and_ownership(db):
    with pytest.raises(InvalidInput, match="cannot be a group name"):
        groups.create_group(db, ME, "Sales Team")
    group = groups.create_group(db, ME, "Sales")
    assert group.name == "sales"
    with pytest.raises(AlreadyExists):
        groups.create_group(db, ME, "sales")
    groups.add_member(db, ME, group, "ann@example.test")
    with pytest.raises(AlreadyExists):
        groups.add_member(db, ME, group, "ann@example.test")
    shared.create_shared(db, ME, ALL, "team@example.test", "Team", ["sales"])
    with pytest.raises(InvalidInput, match="owns team@example.test"):
        groups.delete_group(db, ME, group)
    assert groups.rename_group(db, ME, group, "sellers") == "sales"
    assert shared.owner_names(shared.get_shared(db, "team@example.test")) == ["sellers"]


def test_shared_mailbox_needs_an_owner_and_domain_admins_only_their_groups(db):
    with pytest.raises(InvalidInput, match="at least one owning group"):
        shared.create_shared(db, ME, ALL, "team@example.test", "", [])
    with pytest.raises(NotFound, match="create it first"):
        shared.create_shared(db, ME, ALL, "team@example.test", "", ["ghosts"])
    mixed = groups.create_group(db, ME, "mixed")
    groups.add_member(db, ME, mixed, "ann@example.test")
    groups.add_member(db, ME, mixed, lookup.add_mailbox(db, "eve@other.test", PASSWORD).address)
    admin_of_example = Roles(domains=frozenset({"example.test"}))
    with pytest.raises(InvalidInput, match="members outside your domains"):
        shared.create_shared(db, ME, admin_of_example, "team@example.test", "", ["mixed"])
    with pytest.raises(AlreadyExists):
        shared.create_shared(db, ME, ALL, "ann@example.test", "", ["mixed"])


def test_directory_groups_own_shared_mailboxes_scoped_like_mailroom_groups(db, monkeypatch):
    found = [DirectoryGroup("desk", ("ann@example.test",)),
             DirectoryGroup("staff", ("ann@example.test", "eve@other.test")), DirectoryGroup("empty", ())]
    monkeypatch.setattr(directory_groups, "read_groups", lambda cfg: found)
    ldap, admin_of_example = {"ACCOUNT_PROVIDER": "ldap"}, Roles(domains=frozenset({"example.test"}))
    assert [g.name for g in directory_groups.usable_by(found, admin_of_example)] == ["desk"]
    assert [g.name for g in directory_groups.usable_by(found, ALL)] == ["desk", "staff", "empty"]
    with pytest.raises(InvalidInput, match="staff has members outside your domains"):
        shared.create_shared(db, ME, admin_of_example, "team@example.test", "", [], ["staff"], ldap)
    with pytest.raises(InvalidInput, match="empty is empty"):
        shared.create_shared(db, ME, admin_of_example, "team@example.test", "", [], ["empty"], ldap)
    with pytest.raises(InvalidInput, match="no group ghosts"):
        shared.create_shared(db, ME, ALL, "team@example.test", "", [], ["ghosts"], ldap)
    with pytest.raises(InvalidInput, match="reads no directory"):
        shared.create_shared(db, ME, ALL, "team@example.test", "", [], ["desk"], {})
    box = shared.create_shared(db, ME, admin_of_example, "team@example.test", "", [], ["Desk"], ldap)
    assert box.acl_owners() == ["ldap:desk"]
    # Mailroom's group desk is another owner than the directory's desk.
    groups.add_member(db, ME, groups.create_group(db, ME, "desk"), "ann@example.test")
    shared.update_shared(db, ME, ALL, box, "", ["desk"], ["desk", "staff"], ldap)
    assert box.acl_owners() == ["desk", "ldap:desk", "ldap:staff"]

    def down(cfg):
        raise DirectoryUnavailable("no answer")
    monkeypatch.setattr(directory_groups, "read_groups", down)
    # While the directory is down the owners it has stay editable, new ones wait.
    shared.update_shared(db, ME, admin_of_example, box, "Team", ["desk"], ["staff"], ldap)
    assert box.acl_owners() == ["desk", "ldap:staff"] and box.display_name == "Team"
    with pytest.raises(InvalidInput, match="cannot be read now"):
        shared.update_shared(db, ME, ALL, box, "Team", [], ["staff", "empty"], ldap)
    shared.update_shared(db, ME, ALL, box, "Desk", ["desk"])  # not given: they stay
    assert box.acl_owners() == ["desk", "ldap:staff"]


def test_audit_records_before_and_after_and_scopes_by_domain(db):
    ann = lookup.get_mailbox(db, "ann@example.test")
    mailboxes.update_mailbox(db, ME, ann, display_name="Ann", enabled=False, quota_mb=2048,
                             junk_days=None)
    mailboxes.update_mailbox(db, ME, ann, display_name="Ann", enabled=False, quota_mb=2048,
                             junk_days=None)  # nothing changed: not logged again
    groups.create_group(db, ME, "nobodys")
    db.flush()
    rows = audit.entries(db, ALL, audit.Filters(kind="mailbox")).rows
    assert len(rows) == 1
    changed = {c.field: (c.before, c.after) for c in rows[0].changes}
    assert changed["quota_mb"] == (None, 2048) and changed["enabled"] == (True, False)
    other_admin = Roles(domains=frozenset({"other.test"}))
    assert audit.entries(db, other_admin, audit.Filters()).total == 0
    mine = audit.entries(db, Roles(domains=frozenset({"example.test"})), audit.Filters())
    assert [r.entry.kind for r in mine.rows] == ["mailbox"]  # groups are server-wide
    assert audit.entries(db, ALL, audit.Filters(text="nobodys")).total == 1


def test_forwarding_back_to_the_mailbox_is_refused(db):
    ann = lookup.get_mailbox(db, "ann@example.test")
    aliases.create_alias(db, ME, "back@example.test", ["ann@example.test"])
    for target in ("ann@example.test", "back@example.test"):
        with pytest.raises(InvalidInput, match="would loop"):
            mailboxes.update_mailbox(db, ME, ann, display_name="", enabled=True, quota_mb=None,
                                     junk_days=None, forward_address=target)
    with pytest.raises(InvalidInput, match="not an e-mail address"):
        mailboxes.update_mailbox(db, ME, ann, display_name="", enabled=True, quota_mb=None,
                                 junk_days=None, forward_address="nope")


def test_set_password_link_works_once_and_expires(db):
    created = mailboxes.create_mailbox(db, ME, "new@example.test", "New", password=None)
    token = created.link_token
    assert links.mailbox_for(db, token).address == "new@example.test"
    assert db.query(PasswordLink).one().token_hash != token
    with pytest.raises(InvalidInput, match="At least 10"):
        links.redeem(db, token, "short")
    links.redeem(db, token, PASSWORD)
    with pytest.raises(NotFound, match="expired or has been used"):
        links.mailbox_for(db, token)
    late = links.new_link(db, ME, created.mailbox)
    db.query(PasswordLink).one().expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    with pytest.raises(NotFound):
        links.redeem(db, late, PASSWORD)


def test_last_server_admin_stays(db):
    ann = lookup.get_mailbox(db, "ann@example.test")
    admin_roles.set_server_admin(db, ME, ann, True)
    with pytest.raises(InvalidInput, match="only server admin"):
        admin_roles.set_server_admin(db, ME, ann, False)


def test_erase_job_removes_only_an_unused_mail_directory(db, tmp_path):
    root = tmp_path / "mail"
    home = root / "example.test" / "gone"
    (home / "Maildir" / "cur").mkdir(parents=True)
    (home / "Maildir" / "cur" / "1.msg").write_text("hello")
    ann = lookup.get_mailbox(db, "ann@example.test")
    job = mailboxes.delete_mailbox(db, ME, ann, True, root / "example.test" / "ann")
    jobs.run(db, job, root)
    assert job.state == "done"  # nothing there: fine
    db.add(AdminJob(kind="erase_mail", target="gone@example.test", path=str(home),
                    requested_by=ME))
    db.add(AdminJob(kind="erase_mail", target="bob@example.test",
                    path=str(root / "example.test" / "bob"), requested_by=ME))
    db.add(AdminJob(kind="erase_mail", target="x@example.test", path=str(tmp_path),
                    requested_by=ME))
    db.flush()
    ran = [jobs.claim(db) for _ in range(3)]
    for job in ran:
        jobs.run(db, job, root)
    assert [j.state for j in ran] == ["done", "failed", "failed"]
    assert "exists again" in ran[1].error and "not a mail directory" in ran[2].error
    assert not home.exists() and tmp_path.exists()
    assert db.query(Mailbox).filter_by(address="ann@example.test").count() == 0


def test_the_address_book_goes_with_the_mail_unless_the_address_is_taken_again(db, tmp_path):
    root, books = tmp_path / "mail", tmp_path / "carddav"
    root.mkdir()
    for address in ("gone@example.test", "kept@example.test", "bob@example.test"):
        (books / "collection-root" / address / "contacts").mkdir(parents=True)
        (books / "collection-root" / address / "contacts" / "a.vcf").write_text("BEGIN:VCARD")
    for kind, target in (("erase_mail", "gone@example.test"), ("archive_mail", "kept@example.test"),
                         ("erase_mail", "bob@example.test")):  # bob's mailbox exists: his own book
        db.add(AdminJob(kind=kind, target=target, path=str(root / "example.test" / target.split("@")[0]),
                        requested_by=ME))
    db.flush()
    ran = [jobs.claim(db) for _ in range(3)]
    for job in ran:
        jobs.run(db, job, root, books)
    assert [j.state for j in ran] == ["done", "done", "failed"]
    assert not (books / "collection-root" / "gone@example.test").exists()
    assert not (books / "collection-root" / "kept@example.test").exists()
    kept = list((root / jobs.ARCHIVE / "example.test").glob("kept-*.contacts"))
    assert len(kept) == 1 and (kept[0] / "contacts" / "a.vcf").read_text() == "BEGIN:VCARD"
    assert (books / "collection-root" / "bob@example.test" / "contacts" / "a.vcf").exists()


def test_an_empty_group_belongs_to_the_server_admin_only(db):
    # Issue 12: all() of no members is True, so every domain admin could pick an empty group
    # (which the server admin may later fill with anyone) as owner of their shared mailbox.
    groups.create_group(db, ME, "empty")
    admin_of_example = Roles(domains=frozenset({"example.test"}))
    assert "empty" not in [g.name for g in groups.usable_by(db, admin_of_example)]
    assert "empty" in [g.name for g in groups.usable_by(db, ALL)]
    with pytest.raises(InvalidInput, match="empty"):
        shared.create_shared(db, ME, admin_of_example, "team@example.test", "", ["empty"])
