"""How much room the mailbox takes: quota from GETQUOTAROOT and each folder's size."""
from __future__ import annotations

from dataclasses import dataclass

from imapclient import IMAPClient

from core.mail import folders, imap, usage

WARN_PERCENT = 90


@dataclass(frozen=True)
class Storage:
    """Quota resources and folders, largest first."""

    quota: list[imap.QuotaUsage]
    folders: list[tuple[folders.Folder, usage.FolderSize]]
    sizes_known: bool

    @property
    def total_size(self) -> int:
        """Bytes in all listed folders."""
        return sum(size.size for _, size in self.folders)

    @property
    def total_messages(self) -> int:
        """Messages in all listed folders."""
        return sum(size.messages for _, size in self.folders)

    @property
    def warning(self) -> bool:
        """Whether any quota resource is above WARN_PERCENT."""
        return any(q.percent >= WARN_PERCENT for q in self.quota)


def storage(client: IMAPClient) -> Storage:
    """The quota of the INBOX's quota root and the size of every own folder."""
    rows = []
    for folder in folders.list_folders(client, counts=False):
        if folder.shared or not folder.selectable:
            continue
        size = usage.folder_size(client, folder.name)
        if size is not None:
            rows.append((folder, size))
    rows.sort(key=lambda row: (-row[1].size, -row[1].messages, row[0].name.lower()))
    return Storage(imap.quota(client), rows, usage.supports_size(client))
