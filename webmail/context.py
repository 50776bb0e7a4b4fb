"""What every webmail page needs: the connection owner, the folder tree, list options."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for
from flask_login import current_user

from core.cache import share
from core.extensions import db
from core.mail.folders import find_special
from core.mail.listing import SORT_KEYS
from core.services.mail import identities

# Sorted UID lists of every person's folders and searches: 4 bytes a UID.
sort_cache = share(0.3)


@dataclass(frozen=True)
class ListOptions:
    """Where the person is in the list: folder, page, sort, order, search."""

    folder: str
    page: int
    sort: str
    reverse: bool
    query: str
    everywhere: bool

    def url(self, endpoint: str = "webmail.index", **changes) -> str:
        """A URL for ENDPOINT keeping these options, with CHANGES applied."""
        args = {"folder": self.folder, "page": self.page, "sort": self.sort,
                "order": "desc" if self.reverse else "asc", "q": self.query or None,
                "scope": "all" if self.everywhere else None}
        args.update(changes)
        return url_for(endpoint, **{k: v for k, v in args.items() if v not in (None, "")})


def list_options() -> ListOptions:
    """Read the list options from the query string (bad values fall back to defaults)."""
    folder = request.values.get("folder", "INBOX") or "INBOX"
    sort = request.args.get("sort", "date")
    return ListOptions(
        folder=folder,
        page=max(1, request.args.get("page", 1, type=int) or 1),
        sort=sort if sort in SORT_KEYS else "date",
        reverse=request.args.get("order", "desc") != "asc",
        query=request.args.get("q", "").strip()[:500],
        everywhere=request.args.get("scope") == "all",
    )


def conversations_chosen() -> bool:
    """Whether the person lists their mail as conversations (else one row per message)."""
    return identities.preferences(db.session, current_user.address).conversations


def outgoing(tree) -> dict:
    """Template values naming the Sent and Drafts folders (their rows show recipients)."""
    return {"sent_folder": find_special(tree, "\\Sent"),
            "drafts_folder": find_special(tree, "\\Drafts")}


def owner() -> str:
    """The key a person's cached lists are filed under: their address.

    Every session of the same person shares the sorted lists; each entry is still
    checked against the folder's UIDVALIDITY/UIDNEXT/EXISTS before it is used.
    """
    return current_user.address


def per_page() -> int:
    """Messages per list page."""
    return int(current_app.config["PAGE_SIZE"])
