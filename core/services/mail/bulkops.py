"""Bulk changes on the server by UID sets: the ticked messages or every message of a
list, marking a folder read, and undoing a move by the UIDs it got (RFC 4315 COPYUID).

However many messages are chosen, each change is one IMAP command per UID-set chunk
(core.mail.uidset): "all 40,000 messages of Inbox" is `UID MOVE 1:40212 Junk`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from imapclient import IMAPClient

from core.cache import LruCache
from core.i18n import lazy_gettext as _l
from core.i18n import lazy_ngettext
from core.mail import actions, folders, listing, uidset
from core.mail.errors import ImapError
from core.mail.search import parse

if TYPE_CHECKING:
    from core.services.spam.learning import Training

ACTIONS = ("read", "unread", "flag", "unflag", "delete", "move", "spam", "notspam", "archive")
FLAG_CHANGES = {"read": ("seen", True), "unread": ("seen", False),
                "flag": ("flagged", True), "unflag": ("flagged", False)}
# An undo travels in the signed session cookie: a longer set is not offered.
MAX_UNDO_CHARS = 1000
# What a flag change says, whole sentences so that each language can agree the words with the count.
FLAGGED = {
    "read": lambda n: lazy_ngettext("%(num)s message marked as read.", "%(num)s messages marked as read.", n),
    "unread": lambda n: lazy_ngettext("%(num)s message marked as unread.",
                                      "%(num)s messages marked as unread.", n),
    "flag": lambda n: lazy_ngettext("%(num)s message flagged.", "%(num)s messages flagged.", n),
    "unflag": lambda n: lazy_ngettext("%(num)s message unflagged.", "%(num)s messages unflagged.", n),
}
CHANGED = _l("The folder changed since the list was shown (another program replaced it); nothing was done.")


@dataclass(frozen=True)
class Selection:
    """The messages of FOLDER a bulk action takes: ticked UIDS, or all of the list.

    EVERYTHING means every message the list showed: UIDs up to UPTO (the folder's
    UIDNEXT - 1 when the list was drawn, so mail that arrived since is left alone) of
    the folder as it was then (UIDVALIDITY), matching QUERY when the list was a search.
    TOTAL is how many the list said it held.
    """

    folder: str
    uids: tuple[int, ...] = ()
    everything: bool = False
    upto: int = 0
    uidvalidity: int = 0
    query: str = ""
    total: int = 0


@dataclass(frozen=True)
class Undo:
    """How to put moved messages back: COUNT messages, now UIDS of FOLDER, back to BACK_TO."""

    folder: str
    uidvalidity: int
    uids: str
    back_to: str
    count: int

    def as_dict(self) -> dict:
        """The plain values kept in the session until the next page shows the Undo button."""
        return {"folder": self.folder, "uidvalidity": self.uidvalidity, "uids": self.uids,
                "back_to": self.back_to, "count": self.count}


@dataclass(frozen=True)
class Outcome:
    """What a bulk action did, in a sentence, and how to undo it (None: it cannot be)."""

    text: str
    undo: Undo | None = None


def uid_sets(client: IMAPClient, cache: LruCache, owner: str, selection: Selection) -> list[str]:
    """SELECT the folder and return the selection as UID sets, one per command.

    ImapError when the folder was replaced since the list was drawn (its UIDs would
    name other messages now).
    """
    info = listing.select(client, selection.folder)
    if not selection.everything:
        return uidset.chunks(selection.uids)
    if int(info.get(b"UIDVALIDITY", 0)) != selection.uidvalidity:
        raise ImapError(CHANGED)
    upto = min(selection.upto, int(info.get(b"UIDNEXT", 1)) - 1)
    if upto < 1:
        return []
    if not selection.query.strip():
        return [f"1:{upto}"]
    found, _ = listing.sorted_uids(client, cache, owner, selection.folder, "arrival", True,
                                   parse(selection.query).criteria)
    return uidset.chunks(uid for uid in found if uid <= upto)


def apply(client: IMAPClient, tree: list[folders.Folder], folder: str, sets: list[str],
          action: str, count: int, target: str = "",
          training: Training | None = None) -> Outcome:
    """ACTION on the UID SETS of FOLDER (selected by uid_sets); COUNT names how many."""
    if action not in ACTIONS:
        raise ImapError(f"Unknown action {action!r}.")
    if not sets:
        return Outcome(_l("No messages were selected."))
    if action in FLAG_CHANGES:
        for chunk in sets:
            actions.set_flag(client, chunk, *FLAG_CHANGES[action])
        return Outcome(FLAGGED[action](count))
    trash = folders.find_special(tree, "\\Trash")
    if action == "delete" and folder == trash:
        for chunk in sets:
            actions.expunge(client, chunk)
        return Outcome(lazy_ngettext("%(num)s message deleted for good.",
                                     "%(num)s messages deleted for good.", count))
    junk = folders.find_special(tree, "\\Junk")
    destination = {"delete": trash, "spam": junk, "notspam": "INBOX",
                   "archive": folders.find_special(tree, "\\Archive")}.get(action, target)
    if not destination or destination == folder:
        return Outcome(_l("The messages are already there."))
    folders.check_name(destination)
    undo = _move(client, sets, folder, destination)
    done = lazy_ngettext("%(num)s message moved to %(destination)s.",
                         "%(num)s messages moved to %(destination)s.", undo.count if undo else count,
                         destination=destination)
    if training and (action == "spam" or (action == "notspam" and folder == junk)):
        done += " " + training.after_move(action)
    return Outcome(done, undo)


def _move(client: IMAPClient, sets: list[str], folder: str, destination: str) -> Undo | None:
    """Move every set; the Undo that brings them back, if the server named their new UIDs."""
    landed: list[tuple[int, int]] = []
    validity = None
    for chunk in sets:
        copied = actions.move(client, chunk, destination)
        if copied is None:
            validity = 0
            continue
        validity = copied[0] if validity in (None, copied[0]) else 0
        landed += uidset.parse(copied[1])
    text = uidset.compress(uid for a, b in landed for uid in range(a, b + 1)) if validity else ""
    if not text or len(text) > MAX_UNDO_CHARS:
        return None
    return Undo(destination, validity, text, folder, uidset.count(text))


def undo(client: IMAPClient, tree: list[folders.Folder], done: Undo,
         training: Training | None = None) -> str:
    """Move the messages of DONE back where they came from; a sentence saying so."""
    sets = uidset.chunks(uid for a, b in uidset.ranges_of(done.uids) for uid in range(a, b + 1))
    folders.check_name(done.back_to)
    info = listing.select(client, done.folder)
    if int(info.get(b"UIDVALIDITY", 0)) != done.uidvalidity:
        raise ImapError(CHANGED)
    for chunk in sets:
        actions.move(client, chunk, done.back_to)
    text = lazy_ngettext("Undone: %(num)s message back in %(back_to)s.",
                         "Undone: %(num)s messages back in %(back_to)s.", done.count, back_to=done.back_to)
    junk = folders.find_special(tree, "\\Junk")
    trash = folders.find_special(tree, "\\Trash")
    # The server trains on every move into Junk and out of it (but into Trash): putting a
    # message back teaches the opposite of what the first move taught.
    if training and done.back_to == junk:
        text += " " + training.after_move("spam")
    elif training and done.folder == junk and done.back_to != trash:
        text += " " + training.after_move("notspam")
    return text


def mark_all_read(client: IMAPClient, folder: str, upto: int, uidvalidity: int) -> str:
    """Set \\Seen on every message of FOLDER up to UID UPTO in one STORE; a sentence."""
    sets = uid_sets(client, LruCache(0), "", Selection(folder, everything=True, upto=upto,
                                                       uidvalidity=uidvalidity))
    for chunk in sets:
        actions.set_flag(client, chunk, "seen", True)
    return _l('Every message in %(folder)s is marked as read.', folder=folder)
