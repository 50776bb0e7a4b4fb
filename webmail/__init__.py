"""Blueprint "webmail": reading and writing mail."""
from . import (actions, compose, conversations, delivery, events, format, listops, read,  # noqa: F401
               receipts, scheduled, transfer, views)  # (routes register on bp)
from .blueprint import bp

__all__ = ["bp"]
