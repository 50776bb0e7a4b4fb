"""Local-network-only aliases cannot be reached from outside through another address (issue 12.1).

Postfix checks "local network only" on the address the sender typed, before alias
expansion and before a forwarding Sieve redirect; so nothing that accepts mail from
anywhere may lead to a local-only alias.
"""
import pytest

from core.services.directory import aliases, domains, lookup
from core.services.errors import InvalidInput
from core.services.personal import forwarding
from core.services.personal.validation import InvalidField

ME = "admin@example.test"


@pytest.fixture
def db(directory):
    """The unit directory with a local-only alias staff@example.test (to ann)."""
    with directory.transaction() as s:
        aliases.create_alias(s, ME, "staff@example.test", ["ann@example.test"], local_only=True)
    with directory.factory() as session:
        yield session


def test_an_open_alias_may_not_lead_to_a_local_only_one(db):
    with pytest.raises(InvalidInput, match="staff@example.test accepts mail from the local network only"):
        aliases.create_alias(db, ME, "public@other.test", ["staff@example.test"])


def test_another_local_only_alias_may(db):
    aliases.create_alias(db, ME, "inner@other.test", ["staff@example.test"], local_only=True)


def test_forwarding_to_a_local_only_alias_is_refused(db):
    with pytest.raises(InvalidField, match="local network only"):
        forwarding.set_forwarding(db, "bob@example.test", "staff@example.test", True)


def test_catch_all_and_always_bcc_may_not_be_local_only(db):
    domain = lookup.get_domain(db, "other.test")
    for fields in ({"catch_all": "staff@example.test"}, {"bcc": "staff@example.test"}):
        with pytest.raises(InvalidInput, match="local network only"):
            domains.update_domain(db, ME, domain, mode="deliver", **fields)
        db.rollback()


def test_an_alias_that_others_lead_to_cannot_become_local_only(db):
    aliases.create_alias(db, ME, "team@example.test", ["ann@example.test"])
    aliases.create_alias(db, ME, "open@other.test", ["team@example.test"])
    forwarding.set_forwarding(db, "bob@example.test", "team@example.test", True)
    team = aliases.find_alias(db, "team@example.test")
    with pytest.raises(InvalidInput) as refused:
        aliases.update_alias(db, ME, team, ["ann@example.test"], local_only=True)
    assert "open@other.test" in str(refused.value) and "bob@example.test" in str(refused.value)
