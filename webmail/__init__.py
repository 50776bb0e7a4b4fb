"""Blueprint "webmail": reading and writing mail."""
from . import (actions, compose, delivery, format, listops, read, transfer,  # noqa: F401
               views)  # (routes register on bp)
from .blueprint import bp

__all__ = ["bp"]
