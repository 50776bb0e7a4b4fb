"""Messages people read, translated when they are shown and escaped like any other text.

Services raise and return `lazy_gettext(...)` messages: each reads in the language of the
request that shows it, and in English outside a request (the CLI, the stack's daemons).
"""
from __future__ import annotations

from babel.numbers import format_decimal
from flask_babel import LazyString, get_locale, get_translations, gettext
from markupsafe import escape


class LazyText(LazyString):
    """A message translated when it is turned into text.

    Flask-Babel's LazyString hands Jinja its raw text as markup (`__html__`), so a folder or
    file name inside a message would reach the page unescaped; this one is escaped like a str.
    """

    def __html__(self) -> str:
        return str(escape(str(self)))


def lazy_gettext(string: str, **variables) -> LazyText:
    """STRING (a msgid with %(name)s placeholders) translated and filled in when shown."""
    return LazyText(gettext, string, **variables)


def _written(n: int) -> str:
    """N with the digit grouping of the request's language (English outside a request)."""
    return format_decimal(n, locale=get_locale() or "en")


def lazy_number(n: int) -> LazyText:
    """N as the language writes numbers (12,345 / 12.345), for a message's placeholder."""
    return LazyText(_written, n)


def _counted(singular: str, plural: str, n: int, **variables) -> str:
    # Flask-Babel's ngettext would fill %(num)s with the bare number.
    return get_translations().ungettext(singular, plural, n) % dict(variables, num=_written(n))


def lazy_ngettext(singular: str, plural: str, n: int, **variables) -> LazyText:
    """SINGULAR or PLURAL as the language counts N, with %(num)s the number written as the
    language writes it (1,204 / 1.204), translated and filled in when shown."""
    return LazyText(_counted, singular, plural, n, **variables)


def N_(string: str) -> str:
    """STRING unchanged, marked for translation: a text stored as written (English, e.g. by the
    worker) and translated where it is shown, by looking the stored text up."""
    return string
