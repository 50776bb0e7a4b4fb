"""Blueprint "admin": the server's and domains' administration."""
from . import (aliases, api_tokens, attachments, directory, disclaimers, dkim, domains, groups, mailboxes, queue,  # noqa: F401
               server, shared, smarthost, spam, tracking, views)  # (routes register on bp)
from .blueprint import bp

__all__ = ["bp"]
