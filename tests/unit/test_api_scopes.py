"""Which scopes let which API requests through, and which a person may give a token."""
import pytest

from core.services.access import api_tokens
from core.services.errors import InvalidInput


@pytest.mark.parametrize("scopes, family, write, allowed", [
    ("admin", "admin", True, True),
    ("admin", "admin", False, True),
    ("admin:read", "admin", False, True),
    ("admin:read", "admin", True, False),
    ("personal admin:read", "admin", True, False),
    ("personal", "admin", False, False),
    ("personal:read", "personal", True, False),
    ("personal:read admin", "personal", False, True),
])
def test_a_scope_allows_its_family_and_read_only_scopes_only_read(scopes, family, write, allowed):
    assert api_tokens.allows(scopes, family, write) is allowed


def test_scopes_are_stored_in_one_order_and_checked():
    assert api_tokens.check_scopes(["admin", "personal:read"], True) == "personal:read admin"
    with pytest.raises(InvalidInput, match="Only admins"):
        api_tokens.check_scopes(["personal", "admin:read"], False)
    with pytest.raises(InvalidInput, match="at least one scope"):
        api_tokens.check_scopes([], True)
    with pytest.raises(InvalidInput, match="no scope 'root'"):
        api_tokens.check_scopes(["root"], True)

