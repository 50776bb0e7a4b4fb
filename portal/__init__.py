"""Blueprint "portal": the self-service settings pages."""
from . import filters, identities, mailapps, password, personal, security, spam, tester, views  # noqa: F401  (routes register on bp)
from .blueprint import bp

__all__ = ["bp"]
