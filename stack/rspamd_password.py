"""Rspamd's controller password as Rspamd stores it: "$1$SALT$KEY", PBKDF2 over BLAKE2b.

Rspamd's controller accepts, instead of the password itself, the two hashed forms
`rspamadm pw` writes: "$1$" PBKDF2-BLAKE2b (16,000 rounds, 20-byte salt, 32-byte key)
and "$2$" Catena-Butterfly, its default. We write "$1$", computed here: it needs no
password in any argv (`rspamadm pw` takes one from argv or a terminal only), and the
same code can check a stored hash, so `stack up` keeps the hash it wrote while the
password is unchanged instead of a new salt changing the file and restarting Rspamd.
A generated controller password is 64 random characters, for which Catena's memory
hardness adds nothing. tests/integration/test_secrets_at_rest.py checks both ways:
hashes Rspamd itself made verify here, and the controller accepts the one we write.

Salt and key are written in z-base-32 as Rspamd orders it: the bytes read as one
little-endian number, five bits at a time from the lowest.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "$1$"
ROUNDS = 16000
SALT_BYTES, KEY_BYTES = 20, 32
ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769"


def hash_password(password: str) -> str:
    """A new "$1$..." hash of PASSWORD with a random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    return f"{PREFIX}{_encode(salt)}${_encode(_derive(password.encode(), salt))}"


def verify(password: str, hashed: str) -> bool:
    """Whether HASHED is a "$1$..." hash of PASSWORD."""
    salt_text, _, key_text = hashed.removeprefix(PREFIX).partition("$")
    if not hashed.startswith(PREFIX) or not salt_text or not key_text:
        return False
    try:
        salt, key = _decode(salt_text, SALT_BYTES), _decode(key_text, KEY_BYTES)
    except ValueError:
        return False
    return hmac.compare_digest(_derive(password.encode(), salt), key)


def _derive(password: bytes, salt: bytes) -> bytes:
    """PBKDF2 (RFC 8018 5.2) with keyed BLAKE2b-512 as the PRF; one block is enough.

    BLAKE2b takes keys of up to 64 bytes: Rspamd keys it with the BLAKE2b hash of a
    longer password.
    """
    key = password if len(password) <= 64 else hashlib.blake2b(password).digest()
    block = hashlib.blake2b(salt + (1).to_bytes(4, "big"), key=key).digest()
    total = int.from_bytes(block, "big")
    for _ in range(ROUNDS - 1):
        block = hashlib.blake2b(block, key=key).digest()
        total ^= int.from_bytes(block, "big")
    return total.to_bytes(64, "big")[:KEY_BYTES]


def _encode(data: bytes) -> str:
    number, chars = int.from_bytes(data, "little"), -(-len(data) * 8 // 5)
    return "".join(ALPHABET[(number >> 5 * i) & 31] for i in range(chars))


def _decode(text: str, size: int) -> bytes:
    """SIZE bytes from z-base-32 TEXT; ValueError for a foreign character or length."""
    if len(text) != -(-size * 8 // 5):
        raise ValueError("wrong length")
    number = sum(ALPHABET.index(char) << 5 * i for i, char in enumerate(text))
    return (number & ((1 << size * 8) - 1)).to_bytes(size, "little")
