"""Password hashing in a scheme Dovecot verifies, and the rules a new password must meet."""
from __future__ import annotations

import bcrypt

from core.i18n import lazy_gettext as _l

# Dovecot 2.3 verifies bcrypt hashes ($2b$) under the BLF-CRYPT scheme name.
SCHEME = "{BLF-CRYPT}"
ROUNDS = 11
MIN_LENGTH = 10

MAX_BYTES = 72  # bcrypt reads no further (and bcrypt 5 refuses longer input)

RULES = (
    _l("At least %(min_length)s characters.", min_length=MIN_LENGTH),
    _l("Not the same as your e-mail address or its local part."),
    _l("At most %(max_bytes)s bytes (about %(max_bytes)s letters without accents).", max_bytes=MAX_BYTES),
)


class WeakPassword(ValueError):
    """The password breaks one of RULES; the message says which."""


def hash_password(password: str, rounds: int = ROUNDS) -> str:
    """Return a `{BLF-CRYPT}$2b$...` hash of PASSWORD for Dovecot's passdb."""
    digest = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds))
    return SCHEME + digest.decode("ascii")


def check_rules(password: str, address: str = "") -> None:
    """Raise WeakPassword when PASSWORD breaks a rule."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(RULES[0])
    if len(password.encode("utf-8")) > MAX_BYTES:
        raise WeakPassword(RULES[2])
    lowered = password.lower()
    if address and lowered in (address.lower(), address.split("@")[0].lower()):
        raise WeakPassword(RULES[1])
