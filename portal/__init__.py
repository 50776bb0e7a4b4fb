"""Blueprint "portal": the self-service settings pages."""
from . import (api_tokens, filters, identities, mailapps, notifications, password, personal, security,  # noqa: F401
               spam, tester, views)  # (routes register on bp)
from .blueprint import bp

__all__ = ["bp"]
