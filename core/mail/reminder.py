"""The attachment reminder: does a message's own text say something is attached?

static/js/compose.js asks in the browser with the same words; this is the fallback for
a browser without scripts. Quoted lines, a forwarded text and the signature do not count.
"""
from __future__ import annotations

import re

from core.i18n import lazy_gettext as _l

from .signature import without_signature

# English, Italian and German (the languages people write here), as whole words.
MENTION = re.compile(r"\b(?:attach(?:ed|es|ing|ments?)?|allegat[oiae]|anh[aä]nge?|angeh[aä]ngt)\b",
                     re.IGNORECASE)
FORWARD_MARK = "---------- Forwarded message ----------"
QUESTION = _l("You mention an attachment, but nothing is attached.")


def own_text(body: str) -> str:
    """BODY without quoted lines, a forwarded message and the signature."""
    text = without_signature(body.replace("\r\n", "\n")).split(FORWARD_MARK)[0]
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith(">"))


def mentions_attachment(body: str) -> bool:
    """True when the person's own words in BODY mention an attachment.

    >>> mentions_attachment("The report is attached."), mentions_attachment("Ti mando l'allegato")
    (True, True)
    >>> mentions_attachment("> see attachment\\nThanks"), mentions_attachment("Attaché case")
    (False, False)
    """
    return bool(MENTION.search(own_text(body)))
