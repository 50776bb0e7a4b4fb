"""Blueprint "api": the REST API at /api/v1 (bearer tokens, JSON, OpenAPI)."""
from . import answers, auth, directory, docs, organisation, personal  # noqa: F401  (routes register on bp)
from .blueprint import bp

__all__ = ["bp"]
