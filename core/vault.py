"""Sealing secrets with a key kept apart from the sealed blob.

The mail credential of a web session: the server keeps the sealed blob (database), the
browser keeps the key (session cookie): neither alone reveals the password, and a
stolen database is useless. The smarthost's password: the database keeps the blob, the
privileged helper the key (root's alone, stack/secretfiles.py), so the web app that
stored it cannot read it back.
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class VaultError(Exception):
    """The sealed credential cannot be opened with the key given."""


def new_key() -> str:
    """A fresh random key, as text fit for a cookie."""
    return Fernet.generate_key().decode("ascii")


def seal(key: str, secret: str) -> bytes:
    """Encrypt and authenticate SECRET with KEY."""
    return Fernet(key.encode("ascii")).encrypt(secret.encode("utf-8"))


def unseal(key: str, sealed: bytes) -> str:
    """Decrypt what seal() produced; VaultError when the key does not fit."""
    try:
        return Fernet(key.encode("ascii")).decrypt(sealed).decode("utf-8")
    except (InvalidToken, ValueError, TypeError) as exc:
        raise VaultError("the session key does not open this credential") from exc
