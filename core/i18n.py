"""Messages people read, translated when they are shown and escaped like any other text.

Services raise and return `lazy_gettext(...)` messages: each reads in the language of the
request that shows it, and in English outside a request (the CLI, the stack's daemons).
"""
from __future__ import annotations

from flask_babel import LazyString, gettext
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


def N_(string: str) -> str:
    """STRING unchanged, marked for translation: a text stored as written (English, e.g. by the
    worker) and translated where it is shown, by looking the stored text up."""
    return string
