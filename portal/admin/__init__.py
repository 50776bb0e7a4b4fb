"""Blueprint "admin": the server's and domains' administration."""
from . import (aliases, attachments, disclaimers, dkim, domains, groups, mailboxes, queue, server,  # noqa: F401
               shared, smarthost, spam, tracking, views)  # (routes register on bp)
from .blueprint import bp

__all__ = ["bp"]
