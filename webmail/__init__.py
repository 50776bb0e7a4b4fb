"""Blueprint "webmail": reading and writing mail."""
from . import actions, compose, format, read, receipts, views  # noqa: F401  (routes register on bp)
from .blueprint import bp

__all__ = ["bp"]
