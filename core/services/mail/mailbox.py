"""Webmail use-cases on one IMAP connection: folders, lists, searches, bulk changes."""
from __future__ import annotations

import heapq
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imapclient import IMAPClient

from core import shared
from core.cache import LruCache, share
from core.i18n import lazy_gettext as _l
from core.mail import actions, folders, imap, listing, uidset
from core.mail.errors import ImapError
from core.mail.search import parse

from . import bulkops

if TYPE_CHECKING:
    from core.services.spam.learning import Training



# Each person's folder tree with counts and their quota, as every mail page shows them.
sidebar_cache = share(0.05)
# How long changes in folders other than the shown one may take to reach the page's
# counts (the page's polling shows them sooner); changes in the shown one show at once.
SIDEBAR_SECONDS = 30
# What one cached Folder costs beyond its names.
FOLDER_OVERHEAD = 700
# The shared store's key of a person's change mark (forget_sidebar).
_MARK = "sidebar-changed:"


@dataclass
class Sidebar:
    """The folder tree (with counts) and the quota beside a list."""

    tree: list[folders.Folder]
    quota: list[imap.QuotaUsage]
    made: float = 0.0


@dataclass
class SearchHit:
    """A message found by an all-folder search."""

    folder: str
    summary: listing.Summary


@dataclass
class SearchPage:
    """One page of an all-folder search, newest first."""

    hits: list[SearchHit]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the results have."""
        return listing.page_count(self.total, self.per_page)


def folder_tree(client: IMAPClient, counts: bool = True) -> list[folders.Folder]:
    """All folders (with counts unless COUNTS is off), creating missing special-use ones."""
    tree = folders.list_folders(client, counts)
    if folders.ensure_special_folders(client, tree):
        tree = folders.list_folders(client, counts)
    return tree


def sidebar(client: IMAPClient, owner: str, folder: str, state: tuple | None = None) -> Sidebar:
    """The folder tree and quota beside FOLDER, whose (messages, UIDNEXT, HIGHESTMODSEQ) is STATE.

    Listing 400 folders with their counts costs Dovecot and imapclient ~20 ms, against
    ~5 ms for the whole page of a person with 6 folders. So the sidebar is kept per
    person and reused while the shown folder still has the state it was listed with
    (a message read, moved or arrived there shows at once) and for at most
    SIDEBAR_SECONDS, unless a change was made through any app process since (the
    shared mark, forget_sidebar). STATE None: ask the server.
    """
    if state is None:
        state = folders.state_of(listing.state(client, folder))
    now = time.monotonic()
    mark = _change_mark(owner)
    cached = sidebar_cache.get(owner, mark)
    if cached is not None and now - cached.made < SIDEBAR_SECONDS:
        shown = next((f for f in cached.tree if f.name == folder), None)
        if shown is not None and shown.state == state:
            return cached
    return _listed(client, owner, mark, now)


def fresh_sidebar(client: IMAPClient, owner: str) -> Sidebar:
    """The folder tree and quota as the server has them now, kept as OWNER's sidebar."""
    now = time.monotonic()
    return _listed(client, owner, _change_mark(owner), now)


def _listed(client: IMAPClient, owner: str, mark: str, began: float) -> Sidebar:
    """List the tree and keep it with the MARK read at BEGAN, just before listing.

    Dated BEGAN, a tree is never reused past the mark of a change made while it was
    being listed (a newer mark) nor past that mark's lifetime (forget_sidebar).
    """
    made = Sidebar(folder_tree(client), imap.quota(client), began)
    sidebar_cache.put(owner, made, mark,
                      size=sum(FOLDER_OVERHEAD + 2 * len(f.name) for f in made.tree))
    return made


def forget_sidebar(owner: str) -> None:
    """Make every app process list OWNER's tree anew: a folder was made, renamed,
    removed or emptied, or mail was moved or sent.

    The new mark lasts as long as any tree listed before it can still be reused
    (SIDEBAR_SECONDS, and a second for Redis's clock and this process's to differ), so
    no process takes an older tree for one listed after the change.
    """
    shared.store().put(_MARK + owner, secrets.token_hex(8), SIDEBAR_SECONDS + 1)


def _change_mark(owner: str) -> str:
    """The mark of OWNER's last change through any process ("" when none is recent)."""
    return shared.store().get(_MARK + owner) or ""


def message_list(client: IMAPClient, cache: LruCache, owner: str, folder: str, *,
                 sort: str = "date", reverse: bool = True, page: int = 1, per_page: int = 50,
                 query: str = "") -> listing.Page:
    """One page of FOLDER, filtered by the search box's QUERY when given."""
    criteria = parse(query).criteria if query.strip() else None
    return listing.list_page(client, cache, owner, folder, sort=sort, reverse=reverse,
                             page=page, per_page=per_page, criteria=criteria)


def search_everywhere(client: IMAPClient, cache: LruCache, owner: str, query: str,
                      tree: list[folders.Folder], page: int = 1,
                      per_page: int = 50) -> SearchPage:
    """QUERY in every selectable folder, newest first; only one page is fetched.

    Each folder is searched on the server (cached like the list); at most
    PAGE x PER_PAGE newest UIDs per folder are candidates, so the fetch is bounded.
    """
    criteria = parse(query).criteria
    candidates: list[tuple[str, int]] = []
    total = 0
    for folder in (f for f in tree if f.selectable and f.messages):
        uids, _ = listing.sorted_uids(client, cache, owner, folder.name, "arrival", True, criteria)
        total += len(uids)
        candidates += [(folder.name, uid) for uid in uids[: page * per_page]]
    hits = _newest(client, candidates, page * per_page)
    start = (page - 1) * per_page
    return SearchPage(hits[start:start + per_page], total, page, per_page)


def _newest(client: IMAPClient, candidates: list[tuple[str, int]], limit: int) -> list[SearchHit]:
    by_folder: dict[str, list[int]] = {}
    for name, uid in candidates:
        by_folder.setdefault(name, []).append(uid)
    hits = []
    for name, uids in by_folder.items():
        listing.select(client, name)
        hits += [SearchHit(name, s) for s in listing.fetch_summaries(client, uids, preview=False)]
    return heapq.nlargest(limit, hits, key=lambda h: (h.summary.date is not None,
                                                      h.summary.date and h.summary.date.timestamp() or 0))


def bulk(client: IMAPClient, tree: list[folders.Folder], folder: str, uids: list[int],
         action: str, target: str = "", training: Training | None = None) -> str:
    """Apply ACTION to UIDS of FOLDER; returns a sentence saying what happened.

    With TRAINING, "spam" / "notspam" also say whether the move trained the spam filter
    (Dovecot's IMAPSieve queues moves into and out of Junk for Rspamd). See
    bulkops.apply for every message of a list and for undoing.
    """
    if action not in bulkops.ACTIONS:
        raise ImapError(f"Unknown action {action!r}.")
    listing.select(client, folder)
    return bulkops.apply(client, tree, folder, uidset.chunks(uids), action, len(set(uids)),
                         target, training).text


def empty_folder(client: IMAPClient, tree: list[folders.Folder], folder: str) -> str:
    """Delete everything in FOLDER for good: only Trash and Junk may be emptied."""
    allowed = {folders.find_special(tree, "\\Trash"), folders.find_special(tree, "\\Junk")}
    if folder not in allowed:
        raise ImapError(_l("Only Trash and Junk can be emptied."))
    removed = actions.empty(client, folder)
    return f"{folder} emptied: {removed} message{'s' if removed != 1 else ''} deleted."


def change_folder(client: IMAPClient, action: str, name: str, new_name: str = "") -> None:
    """Create/rename/delete/(un)subscribe a folder; INBOX and special folders are protected."""
    if not name or (action == "rename" and not new_name):
        raise ValueError("a folder name is needed")
    tree = folders.list_folders(client, counts=False)
    existing = next((f for f in tree if f.name == name), None)
    if action != "create" and existing is None:
        raise ValueError("there is no such folder")
    if action in ("rename", "delete", "unsubscribe") and existing and (
            existing.kind != "folder" or existing.shared):
        raise ValueError("Inbox, special and shared folders cannot be changed here")
    folders.change(client, action, name, new_name)
