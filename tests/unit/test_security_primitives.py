import pytest

from core import vault
from core.passwords import WeakPassword, check_rules, hash_password


def test_vault_round_trip_and_wrong_key():
    key = vault.new_key()
    sealed = vault.seal(key, "pässword")
    assert b"p\xc3\xa4ssword" not in sealed
    assert vault.unseal(key, sealed) == "pässword"
    with pytest.raises(vault.VaultError):
        vault.unseal(vault.new_key(), sealed)
    with pytest.raises(vault.VaultError):
        vault.unseal("not-a-key", sealed)


def test_password_rules():
    with pytest.raises(WeakPassword):
        check_rules("short")
    with pytest.raises(WeakPassword):
        check_rules("anna@example.test", "anna@example.test")
    check_rules("a long enough passphrase", "anna@example.test")


def test_hash_is_salted():
    assert hash_password("same password", rounds=4) != hash_password("same password", rounds=4)


def test_passwords_longer_than_bcrypt_reads_are_refused():
    with pytest.raises(WeakPassword, match="At most 72 bytes"):
        check_rules("ü" * 37)
    check_rules("a" * 72)


@pytest.mark.parametrize("typed", ["anna@example.test", "Anna@EXAMPLE.test", "anna@example.test..",
                                   "anna@exa\u00admple.test", "anna@ｅｘａｍｐｌｅ.test",
                                   " anna@example\u3002test "])
def test_every_spelling_of_an_address_shares_one_limit_key(typed):
    from core.services.access.signin import limit_key

    assert limit_key(typed) == "address:anna@example.test"


def test_text_that_is_no_address_gets_a_limit_key_of_its_own():
    from core.services.access.signin import limit_key

    assert limit_key("no address") != limit_key("other text")
    assert limit_key("no address") != limit_key("no-address@example.test")
    assert len(limit_key("x" * 10000)) < 400
