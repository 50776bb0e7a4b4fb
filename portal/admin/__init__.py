"""Blueprint "admin": the server's and domains' administration."""
from . import aliases, disclaimers, dkim, domains, groups, mailboxes, server, shared, smarthost, spam, views  # noqa: F401  (routes register on bp)
from .blueprint import bp

__all__ = ["bp"]
