"""The signed-in person's ManageSieve session and folder names, for the settings views."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import current_app
from flask_login import current_user

from core.mail import folders, sieve

from .auth.current import mail_connection, password


@contextmanager
def sieve_store() -> Iterator[sieve.SieveStore]:
    """A ManageSieve session logged in as the current person (closed after the block)."""
    settings = sieve.SieveSettings.from_config(current_app.config)
    with sieve.session(settings, current_user.address, password()) as store:
        yield store


def own_folders() -> list[str]:
    """The person's own selectable folders, INBOX first (targets for move and copy)."""
    with mail_connection() as client:
        tree = folders.list_folders(client, counts=False)
    return [f.name for f in tree if f.selectable and not f.shared]
