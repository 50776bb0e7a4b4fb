"""IMAP ACLs of shared mailboxes, through Dovecot's admin socket (run by the privileged helper).

A shared mailbox's folders carry vfile ACL entries `group=NAME` with every RFC 4314
right; members learn their groups from the userdb's acl_groups, and Dovecot's shared
dictionary lists the mailbox under `shared/ADDRESS/` in their folder list.
"""
from __future__ import annotations

import logging

from core.mail.doveadm import Doveadm, DoveadmError, rows
from core.mail.folders import SHARED_PREFIX

log = logging.getLogger(__name__)
# Every right of RFC 4314 in Dovecot's names (l r w s t i p e k x a).
FULL_RIGHTS = ("lookup", "read", "write", "write-seen", "write-deleted", "insert", "post",
               "expunge", "create", "delete", "admin")
DICT_PREFIX = "shared/shared-boxes/"


def own_folders(adm: Doveadm, address: str) -> list[str]:
    """ADDRESS's own folders (not those others share with it under `shared/`)."""
    return [f for f in adm.run(address, "mailbox", "list")
            if f != SHARED_PREFIX and not f.startswith(SHARED_PREFIX + "/")]


def apply_access(adm: Doveadm, address: str, owners: list[str], dropped: list[str],
                 subscribe: list[str], unsubscribe: list[str]) -> None:
    """Give OWNERS full rights on every folder of ADDRESS and take them from DROPPED.

    People in SUBSCRIBE get its folders in their subscriptions (so the webmail and
    most IMAP clients show them under "Shared" at once); UNSUBSCRIBE lose them.
    """
    folders = own_folders(adm, address)
    for folder in folders:
        for name in owners:
            adm.run(address, "acl", "set", "--", folder, f"group={name}", *FULL_RIGHTS)
        for name in set(dropped) - set(owners):
            _forget(adm, address, folder, f"group={name}")
    names = _shared_names(address, folders)
    for person in subscribe:
        adm.run(person, "mailbox", "subscribe", "--", *names)
    for person in set(unsubscribe) - set(subscribe):
        _unsubscribe(adm, person, names)


def _shared_names(address: str, folders: list[str]) -> list[str]:
    """The names FOLDERS of ADDRESS have in a member's folder list."""
    return [f"{SHARED_PREFIX}/{address}" + ("" if f == "INBOX" else f"/{f}") for f in folders]


def follow_members(adm: Doveadm, wanted: dict[str, set[str]], had: dict[str, set[str]]
                   ) -> dict[str, set[str]]:
    """Subscribe each person in WANTED to the shared mailboxes named there that HAD lacks,
    unsubscribe those HAD has and WANTED no longer; what is subscribed now.

    For directory groups' members, whose membership Mailroom learns from the directory
    (stack/directory_groups.py). A subscription doveadm cannot make (a person or mailbox
    gone in the meantime) is logged and tried again next time; one it cannot remove is
    forgotten all the same.
    """
    done: dict[str, set[str]] = {}
    for person in wanted.keys() | had.keys():
        now = set(had.get(person, set()))
        for box in sorted(wanted.get(person, set()) ^ now):
            verb = "unsubscribe" if box in now else "subscribe"
            try:
                adm.run(person, "mailbox", verb, "--", *_shared_names(box, own_folders(adm, box)))
            except DoveadmError as exc:
                log.info("could not %s %s to %s: %s", verb, person, box, exc)
                if verb == "subscribe":
                    continue
            now ^= {box}
        if now:
            done[person] = now
    return done


def reconcile(adm: Doveadm, address: str, owners: list[str]) -> list[dict]:
    """Make every folder of ADDRESS grant exactly OWNERS' full rights; what was wrong.

    Entries for anyone else are removed, owners' missing rights restored. A folder with
    no entries of its own is left alone: it takes the INBOX's (acl_defaults_from_inbox),
    which is checked too. E.g. [{'folder': 'INBOX', 'found': ['user=bob@x lookup read'],
    'wanted': ['group=staff admin create …']}].
    """
    wanted = {f"group={name}": " ".join(sorted(FULL_RIGHTS)) for name in owners}
    repairs = []
    for folder in own_folders(adm, address):
        found = _entries(adm, address, folder)
        if found == wanted or (not found and folder != "INBOX"):
            continue
        for ident in found.keys() - wanted.keys():
            _forget(adm, address, folder, ident)
        for ident in (i for i in wanted if found.get(i) != wanted[i]):
            adm.run(address, "acl", "set", "--", folder, ident, *FULL_RIGHTS)
        repairs.append({"folder": folder, "found": _shown(found), "wanted": _shown(wanted)})
        log.warning("repaired the ACL of %s %s: it was %s", address, folder,
                    "; ".join(_shown(found)) or "empty")
    return repairs


def _entries(adm: Doveadm, user: str, folder: str) -> dict[str, str]:
    """FOLDER's own ACL entries, e.g. {'group=staff': 'admin create …'}, rights sorted."""
    return {ident: " ".join(sorted(rights.split())) for ident, is_global, rights
            in rows(adm.run(user, "acl", "get", "--", folder), 3) if is_global != "1"}


def _shown(entries: dict[str, str]) -> list[str]:
    return [f"{ident} {rights}" for ident, rights in sorted(entries.items())]


def shared_by_users(adm: Doveadm, dict_uri: str) -> list[dict]:
    """Every folder shared with SETACL, e.g. [{'owner': 'ann@x', 'folder': 'Projects',
    'grants': ['user=bob@x lr']}], from Dovecot's shared dictionary."""
    entries = adm.run("", "dict", "iter", "-R", dict_uri, DICT_PREFIX)
    owners = sorted({key.rsplit("/", 1)[-1] for key, _value in rows(entries, 2)})
    return [share for owner in owners for share in _folders_of(adm, owner)]


def _folders_of(adm: Doveadm, owner: str) -> list[dict]:
    found = []
    try:
        for folder in own_folders(adm, owner):
            grants = [g for g in _shown(_entries(adm, owner, folder)) if not g.startswith("owner ")]
            if grants:
                found.append({"owner": owner, "folder": folder, "grants": grants})
    except DoveadmError as exc:
        # The owner was deleted, or a folder went meanwhile: the dictionary lags behind.
        log.info("cannot list what %s shares: %s", owner, exc)
    return found


def _unsubscribe(adm: Doveadm, person: str, names: list[str]) -> None:
    try:
        adm.run(person, "mailbox", "unsubscribe", "--", *names)
    except DoveadmError as exc:
        log.info("could not unsubscribe %s from a shared mailbox: %s", person, exc)


def _forget(adm: Doveadm, address: str, folder: str, ident: str) -> None:
    try:
        adm.run(address, "acl", "delete", "--", folder, ident)
    except DoveadmError as exc:
        if exc.code != "NOTFOUND":
            raise
