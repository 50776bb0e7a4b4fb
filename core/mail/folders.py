"""Folders over IMAP: the tree with counts and special uses, and changes to it."""
from __future__ import annotations

from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from core.i18n import lazy_gettext as _l
from . import imap
from .errors import ImapError

# RFC 6154 special uses, in the order people expect them under the INBOX.
SPECIAL_ORDER = ("\\Drafts", "\\Sent", "\\Archive", "\\Junk", "\\Trash")
SPECIAL_NAMES = {"\\Drafts": "Drafts", "\\Sent": "Sent", "\\Archive": "Archive",
                 "\\Junk": "Junk", "\\Trash": "Trash"}
SHARED_PREFIX = "shared"


@dataclass
class Folder:
    """One folder, e.g. Folder('Projects/Web', 'Web', '/', None, 12, 3, True, 1, False)."""

    name: str
    label: str
    delimiter: str
    special: str | None
    messages: int
    unseen: int
    subscribed: bool
    depth: int
    shared: bool
    selectable: bool = True
    # (messages, UIDNEXT, HIGHESTMODSEQ) as listed when counts were asked: when, not what.
    state: tuple = field(default=(), compare=False)

    @property
    def kind(self) -> str:
        """'inbox', a special use without backslash ('sent', 'junk', …) or 'folder'."""
        if self.name.upper() == "INBOX":
            return "inbox"
        return self.special.lstrip("\\").lower() if self.special else "folder"


def _flag_text(flag) -> str:
    return flag.decode() if isinstance(flag, bytes) else str(flag)


def _special(flags: list[str]) -> str | None:
    return next((f for f in flags if f in SPECIAL_ORDER), None)


def list_folders(client: IMAPClient, counts: bool = True) -> list[Folder]:
    """Every folder with unread counts, INBOX and special-use folders first, then the tree.

    Where the server has LIST-STATUS (RFC 5819) that is one round trip whatever the
    number of folders; elsewhere LIST, LSUB and one STATUS per selectable folder.
    """
    try:
        listed, subscribed, statuses = _listing(client, counts)
    except IMAPClientError as exc:
        raise imap.refused(exc) from exc
    folders = []
    for raw_flags, delim, name in listed:
        flags = [_flag_text(f) for f in raw_flags]
        delimiter = _flag_text(delim) if delim else "/"
        selectable = "\\Noselect" not in flags and "\\NonExistent" not in flags
        status, state = (0, 0), ()
        if counts and selectable:
            items = statuses.get(name, {}) if statuses is not None else _status(client, name)
            status, state = _counts(items), state_of(items)
        parts = name.split(delimiter)
        shared = parts[0] == SHARED_PREFIX and len(parts) > 1
        folders.append(Folder(
            # The one label Mailroom gives (the others are the server's names): lazy, so a
            # cached tree reads in each reader's language.
            name=name, label=_l("Inbox") if name.upper() == "INBOX" else parts[-1],
            delimiter=delimiter, special=_special(flags), messages=status[0],
            unseen=status[1], subscribed=name in subscribed or name.upper() == "INBOX",
            depth=len(parts) - 1, shared=shared, selectable=selectable, state=state,
        ))
    return sorted(folders, key=_order)


def _listing(client: IMAPClient, counts: bool) -> tuple[list, set[str], dict | None]:
    """The LIST entries, the subscribed names and, when they came along, the counts.

    Extended LIST (RFC 5258) reports subscriptions as \\Subscribed and special uses only
    when asked (RFC 6154), so it is used where the server has both.
    """
    if not (client.has_capability("LIST-EXTENDED") and client.has_capability("SPECIAL-USE")):
        return (client.list_folders(), {name for _, _, name in client.list_sub_folders()},
                None)
    with_status = counts and client.has_capability("LIST-STATUS")
    items = b" ".join(_status_items(client)).decode()
    listed, statuses = imap.list_returning(
        client, "SUBSCRIBED SPECIAL-USE" + (f" STATUS ({items})" if with_status else ""))
    subscribed = {name for flags, _, name in listed if b"\\Subscribed" in flags}
    return listed, subscribed, statuses if with_status else None


def _counts(items: dict) -> tuple[int, int]:
    """(messages, unseen) from STATUS items; zeros when there were none (no read right)."""
    return int(items.get(b"MESSAGES", 0)), int(items.get(b"UNSEEN", 0))


def state_of(items: dict) -> tuple[int, int, int]:
    """(messages, UIDNEXT, HIGHESTMODSEQ) from STATUS or SELECT items (EXISTS for a SELECT).

    While it is the same, no message came, went or changed its flags in that folder.
    """
    messages = items.get(b"MESSAGES", items.get(b"EXISTS", 0))
    return int(messages), int(items.get(b"UIDNEXT", 0)), int(items.get(b"HIGHESTMODSEQ", 0))


def _status_items(client: IMAPClient) -> list[bytes]:
    """The counts the tree shows, and what tells whether they may have changed."""
    items = [b"MESSAGES", b"UNSEEN", b"UIDNEXT"]
    return items + [b"HIGHESTMODSEQ"] if client.has_capability("CONDSTORE") else items


def _status(client: IMAPClient, name: str) -> dict:
    try:
        return client.folder_status(name, _status_items(client))
    except IMAPClientError:
        return {}  # a folder we may list but not read (ACL): show it without counts


def _order(folder: Folder) -> tuple:
    if folder.shared:
        return (3, folder.name.lower())
    if folder.name.upper() == "INBOX":
        return (0, 0, "")
    if folder.special and folder.depth == 0:
        return (1, SPECIAL_ORDER.index(folder.special), "")
    return (2, folder.name.lower())


def find_special(folders: list[Folder], special: str) -> str:
    """The name of the folder with SPECIAL use ('\\\\Trash'), or its usual name."""
    for folder in folders:
        if folder.special == special:
            return folder.name
    return SPECIAL_NAMES[special]


def ensure_special_folders(client: IMAPClient, folders: list[Folder]) -> bool:
    """Create any missing special-use folder (servers that do not auto-create them).

    Returns True when something was created. Dovecot on the local stack creates
    them itself (`auto = subscribe`), so this is for other servers.
    """
    present = {f.special for f in folders} | {f.name for f in folders}
    created = False
    for special in SPECIAL_ORDER:
        name = SPECIAL_NAMES[special]
        if special not in present and name not in present:
            change(client, "create", name)
            created = True
    return created


def check_name(name: str) -> str:
    """NAME if it can be a folder name; ImapError otherwise.

    imapclient quotes folder names but passes control characters through, and a
    CR LF inside a quoted string would end the command early.
    """
    if not name or len(name) > 500 or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ImapError(_l("A folder name must be 1 to 500 characters, without control characters."))
    return name


def change(client: IMAPClient, action: str, name: str, new_name: str = "") -> None:
    """Create, rename, delete, subscribe or unsubscribe a folder; ImapError with the reason."""
    check_name(name)
    if new_name:
        check_name(new_name)
    if getattr(client, "selected", None) and action in ("rename", "delete"):
        client.unselect_folder()  # the name it remembers may soon mean another folder
    try:
        if action == "create":
            client.create_folder(name)
            client.subscribe_folder(name)
        elif action == "rename":
            client.rename_folder(name, new_name)
        elif action == "delete":
            client.delete_folder(name)
        elif action == "subscribe":
            client.subscribe_folder(name)
        elif action == "unsubscribe":
            client.unsubscribe_folder(name)
        else:
            raise ValueError(f"unknown folder action {action!r}")
    except IMAPClientError as exc:
        raise imap.refused(exc) from exc
