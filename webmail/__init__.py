"""Blueprint "webmail": reading and writing mail."""
from . import (actions, addressbook, app_shell, compose, conversations, delivery, events, format, listops,  # noqa: F401
               read, receipts, scheduled, transfer, views)  # (routes register on bp)
from .blueprint import bp

__all__ = ["bp"]
