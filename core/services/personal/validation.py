"""Checking what people type into the settings forms, with errors that name the field."""
from __future__ import annotations

import re
import unicodedata

from core.i18n import lazy_gettext as _l
from core.i18n import lazy_number
from core.models import InvalidName, normalize_address
from core.services.errors import InvalidInput

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class InvalidField(InvalidInput):
    """Input refused; `field` names the form field the message belongs beside."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def one_line(text: str) -> str:
    """TEXT with line breaks, control and format characters made spaces, blanks collapsed.

    >>> one_line("Bills\\r\\nredirect  x")
    'Bills redirect x'
    """
    cleaned = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text or "")
    return " ".join(cleaned.split())


def plain_text(field: str, text: str, label: str, limit: int, required: bool = True) -> str:
    """Multi-line TEXT (line breaks kept, other control characters refused) up to LIMIT bytes."""
    text = (text or "").replace("\r\n", "\n").strip()
    if required and not text:
        raise InvalidField(field, _l('%(label)s is empty.', label=label))
    if CONTROL.search(text):
        raise InvalidField(field, _l('%(label)s contains control characters.', label=label))
    size = len(text.encode("utf-8"))
    if size > limit:
        raise InvalidField(field, _l('%(label)s is %(size)s bytes long; the limit is %(limit)s '
                                     'bytes.', label=label, size=lazy_number(size), limit=lazy_number(limit)))
    return text


def address(field: str, text: str, label: str = "The address") -> str:
    """TEXT as a normalised e-mail address, or InvalidField saying it is not one."""
    text = (text or "").strip()
    if not text:
        raise InvalidField(field, _l('%(label)s is empty.', label=label))
    try:
        return normalize_address(text)
    except InvalidName as exc:
        raise InvalidField(field, _l('%(text)s is not an e-mail address.', text=f"{text!r}")) from exc


def whole_number(field: str, text, label: str, low: int, high: int) -> int:
    """TEXT as a whole number between LOW and HIGH, or InvalidField naming the range."""
    try:
        number = int(str(text).strip())
    except ValueError as exc:
        raise InvalidField(field, _l('%(label)s must be a whole number.', label=label)) from exc
    if not low <= number <= high:
        raise InvalidField(field, _l('%(label)s must be between %(low)s and %(high)s.',
                                     label=label, low=low, high=high))
    return number
