"""Blueprint "webmail": reading and writing mail."""
from . import (actions, compose, delivery, format, listops, read, receipts,  # noqa: F401
               scheduled, transfer, views)  # (routes register on bp)
from .blueprint import bp

__all__ = ["bp"]
