"""The webmail's signed CardDAV logins (stack/carddav/mailroom_carddav/token.py)."""
from stack.carddav.mailroom_carddav import token

KEY = "k" * 64


def test_a_token_opens_its_own_login_only_and_only_for_a_while():
    made = token.make(KEY, "anna@example.test", now=1000)
    assert token.valid(KEY, "anna@example.test", made, now=1000)
    assert token.valid(KEY, "anna@example.test", made, now=1000 + token.LIFETIME)
    assert not token.valid(KEY, "anna@example.test", made, now=1001 + token.LIFETIME)
    assert not token.valid(KEY, "bob@example.test", made, now=1000)
    assert not token.valid("other-key" * 8, "anna@example.test", made, now=1000)
    assert not token.valid("", "anna@example.test", made, now=1000)
    # An expiry pushed far out, or a MAC that is not the key's, is refused.
    expiry, mac = made.removeprefix(token.PREFIX).split(":")
    assert not token.valid(KEY, "anna@example.test", f"{token.PREFIX}{int(expiry) + 10**6}:{mac}", now=1000)
    assert not token.valid(KEY, "anna@example.test", f"{token.PREFIX}{expiry}:{'0' * 64}", now=1000)
    assert not token.valid(KEY, "anna@example.test", "a plain password", now=1000)
