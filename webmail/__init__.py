"""Blueprint "webmail": reading and writing mail."""
from . import actions, compose, delivery, format, read, views  # noqa: F401  (routes register on bp)
from .blueprint import bp

__all__ = ["bp"]
