"""The one error type of the local mail stack."""
from __future__ import annotations


class StackError(RuntimeError):
    """The local mail stack cannot do what was asked; the message says why and what to do."""
