"""Storage per folder: STATUS (MESSAGES SIZE), RFC 8438, one command per folder."""
from __future__ import annotations

from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError


@dataclass(frozen=True)
class FolderSize:
    """One folder's share, e.g. FolderSize('Sent', messages=120, size=5_242_880) (bytes)."""

    name: str
    messages: int
    size: int


def supports_size(client: IMAPClient) -> bool:
    """Whether the server answers STATUS SIZE (Dovecot 2.3 does)."""
    return client.has_capability("STATUS=SIZE")


def folder_size(client: IMAPClient, name: str) -> FolderSize | None:
    """Messages and bytes of folder NAME; None when it cannot be read (ACL)."""
    items = [b"MESSAGES", b"SIZE"] if supports_size(client) else [b"MESSAGES"]
    try:
        status = client.folder_status(name, items)
    except IMAPClientError:
        return None
    return FolderSize(name, int(status[b"MESSAGES"]), int(status.get(b"SIZE", 0)))
