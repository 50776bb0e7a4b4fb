"""Where a form may send the browser next: only to a path on this site."""
from __future__ import annotations

from urllib.parse import urlsplit


def local_path(target: str | None, default: str) -> str:
    """TARGET when it is a path on this site, else DEFAULT.

    Browsers read a backslash as a slash, so "/\\\\evil.example" would leave the
    site although urlsplit sees no host in it: such targets are refused too.

    >>> local_path("/mail?folder=INBOX", "/")
    '/mail?folder=INBOX'
    >>> local_path("/\\\\evil.example/a", "/")
    '/'
    """
    if not target or not target.startswith("/") or "\\" in target:
        return default
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    parts = urlsplit(target)
    if target.startswith("//") or parts.scheme or parts.netloc:
        return default
    return target
