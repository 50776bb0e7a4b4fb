"""Blueprint "auth": signing in and out."""
from . import reading, views  # noqa: F401  (routes register on bp)
from .blueprint import bp

__all__ = ["bp"]
