import pytest

from core.models import TO_EXTERNAL, TO_MAILBOX, normalize_address, normalize_domain
from core.models.base import InvalidName
from core.services.access import roles
from core.services.directory import aliases, lookup
from core.services.directory.lookup import SYSTEM_ACTOR
from core.services.errors import AlreadyExists, InvalidInput, NotFound

PASSWORD = "correct horse battery"


def test_domain_names_are_idna_and_lower_case(session):
    domain = lookup.add_domain(session, "Bücher.Example")
    assert domain.name == "xn--bcher-kva.example"
    assert domain.unicode_name == "bücher.example"
    assert lookup.get_domain(session, "BÜCHER.example").id == domain.id


@pytest.mark.parametrize("bad", ["", "nodot", "a..b", "with space.test", "x@y.test"])
def test_invalid_domains_are_refused(bad):
    with pytest.raises(InvalidName):
        normalize_domain(bad)


@pytest.mark.parametrize("bad", ["plain", "@example.test", "a b@example.test", "a<b@example.test",
                                 "../x@example.test", "x@b.test@example.test", "a/b@example.test",
                                 "j\u00f6rg@example.test", "a..b@example.test", "a@-x.test"])
def test_invalid_addresses_are_refused(bad):
    with pytest.raises(InvalidName):
        normalize_address(bad)


def test_mailbox_gets_a_dovecot_hash_and_lower_case_address(session):
    lookup.add_domain(session, "example.test")
    mailbox = lookup.add_mailbox(session, "Anna@Example.Test", PASSWORD, "Anna")
    assert mailbox.address == "anna@example.test"
    assert mailbox.password_hash.startswith("{BLF-CRYPT}$2b$")
    assert PASSWORD not in mailbox.password_hash


def test_duplicate_and_unknown_domain_are_refused(session):
    lookup.add_domain(session, "example.test")
    lookup.add_mailbox(session, "anna@example.test", PASSWORD)
    with pytest.raises(AlreadyExists):
        lookup.add_mailbox(session, "ANNA@example.test", PASSWORD)
    with pytest.raises(NotFound):
        lookup.add_mailbox(session, "anna@nowhere.test", PASSWORD)
    with pytest.raises(AlreadyExists):
        lookup.add_domain(session, "EXAMPLE.test")


def test_weak_password_is_refused_with_the_rule(session):
    lookup.add_domain(session, "example.test")
    with pytest.raises(InvalidInput, match="At least 10 characters"):
        lookup.add_mailbox(session, "anna@example.test", "short")


def test_alias_destinations_resolve_by_kind(session):
    lookup.add_domain(session, "example.test")
    lookup.add_mailbox(session, "anna@example.test", PASSWORD)
    alias = aliases.create_alias(session, SYSTEM_ACTOR, "Info@example.test",
                                ["anna@example.test", "someone@elsewhere.test"])
    assert alias.address == "info@example.test"
    assert [d.kind for d in alias.destinations] == [TO_MAILBOX, TO_EXTERNAL]
    assert [d.target for d in alias.destinations] == ["anna@example.test", "someone@elsewhere.test"]
    with pytest.raises(AlreadyExists):
        aliases.create_alias(session, SYSTEM_ACTOR, "anna@example.test", ["x@elsewhere.test"])


def test_alias_for_every_domain_and_bad_aliases(session):
    lookup.add_domain(session, "example.test")
    alias = aliases.create_alias(session, SYSTEM_ACTOR, "postmaster@*", ["boss@elsewhere.test"])
    assert alias.domain_id is None and alias.address == "postmaster@*"
    assert lookup.address_in_use(session, "postmaster@example.test")
    with pytest.raises(InvalidInput):
        aliases.create_alias(session, SYSTEM_ACTOR, "loop@example.test", ["loop@example.test"])
    with pytest.raises(InvalidInput):
        aliases.create_alias(session, SYSTEM_ACTOR, "empty@example.test", [])


def test_roles(session):
    lookup.add_domain(session, "example.test")
    lookup.add_mailbox(session, "boss@example.test", PASSWORD)
    assert not roles.roles_of(session, "boss@example.test").is_admin
    roles.grant_server_admin(session, "boss@example.test")
    roles.grant_server_admin(session, "boss@example.test")
    found = roles.roles_of(session, "boss@example.test")
    assert found.server and found.may_manage("any.test")
