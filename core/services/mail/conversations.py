"""The conversation view: one row per thread of a folder, with the person's answers from Sent.

Threads come from the server (core.mail.threads). The person's own answers live in
Sent, which THREAD of one folder cannot see; they are looked up for the conversations
on the shown page only, by one SEARCH of Sent for the Message-IDs those conversations
hold (answers name them in In-Reply-To and References) and for the messages they answer.
What each Message-ID found is cached beside the sorted lists while Sent's state stays
the same, so paging back costs a STATUS, and new mail a SEARCH for its own IDs only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from core.cache import LruCache
from core.i18n import lazy_gettext as _l
from core.mail import imap, listing, threads
from core.mail.errors import NotFoundError

# A Message-ID that can travel as one IMAP atom or quoted string: anything else (spaces,
# quotes, braces, control characters) is left out of the SEARCH rather than escaped.
SAFE_ID = re.compile(r"<[\x21-\x7e]{1,250}>")
_UNSAFE_IN_ID = set('"\\(){}%*[]')
# At most this many Message-IDs go into one page's SEARCH of Sent (a long thread's newest).
MAX_IDS = 400
PER_CONVERSATION_IDS = 20


@dataclass
class Conversation:
    """One thread: its messages in the listed folder and in Sent, oldest first."""

    folder: str
    uids: list[int]  # in FOLDER, in arrival order: what the actions take
    messages: list[tuple[str, listing.Summary]] = field(default_factory=list)  # (folder, row)

    @property
    def opens(self) -> int:
        """The UID the row opens: the latest arrival of the listed folder."""
        return self.uids[-1]

    @property
    def newest(self) -> listing.Summary:
        """The newest message, wherever it is."""
        return self.messages[-1][1]

    @property
    def subject(self) -> str:
        """The subject the conversation started with."""
        return self.messages[0][1].subject

    @property
    def unread(self) -> bool:
        """Whether any of its messages is unread."""
        return any(not row.seen for _, row in self.messages)

    @property
    def flagged(self) -> bool:
        """Whether any of its messages is flagged."""
        return any(row.flagged for _, row in self.messages)

    @property
    def attachment(self) -> bool:
        """Whether any of its messages has attachments."""
        return any(row.attachment for _, row in self.messages)

    def participants(self, me: str, sent: str | None) -> list[str]:
        """Who wrote in it, first writer first, 'me' for ME and for Sent."""
        names: list[str] = []
        for folder, row in self.messages:
            name, address = row.sender
            who = "me" if folder == sent or address.lower() == me else (name or address)
            if who and who not in names:
                names.append(who)
        return names


@dataclass
class ConversationPage(listing.Page):
    """A page of a folder's conversations; TOTAL counts conversations, MESSAGES_TOTAL messages."""

    conversations: list[Conversation] = field(default_factory=list)
    messages_total: int = 0


def conversation_page(client: IMAPClient, cache: LruCache, owner: str, folder: str,
                      sent: str | None, *, page: int = 1, per_page: int = 50,
                      criteria: list | None = None) -> ConversationPage:
    """Page PAGE of FOLDER's conversations, latest arrival first, with the answers found in SENT."""
    found, info = threads.threads(client, cache, owner, folder, criteria)
    pages = listing.page_count(len(found), per_page)
    page = min(max(1, page), pages)
    shown = range((page - 1) * per_page, min(page * per_page, len(found)))
    uidvalidity = int(info.get(b"UIDVALIDITY", 0))
    conversations = _conversations(client, owner, folder, info, [found.members(i) for i in shown])
    if sent and sent != folder:
        _add_answers(client, cache, owner, sent, conversations)
    return ConversationPage(folder, len(found), page, per_page, [], int(info.get(b"UIDNEXT", 0)),
                            found.uids, uidvalidity, listing.state_of(info),
                            conversations=conversations, messages_total=len(found.uids))


def open_conversation(client: IMAPClient, cache: LruCache, owner: str, folder: str,
                      sent: str | None, uid: int) -> tuple[Conversation, tuple[int | None, int | None]]:
    """The conversation of FOLDER holding UID, with its Sent answers; its unread messages
    in FOLDER are marked read. Also the UIDs the previous and next conversations open.

    NotFoundError when UID is in none of the folder's conversations.
    """
    found, info = threads.threads(client, cache, owner, folder)
    index = found.index_of(uid)
    if index is None:
        raise NotFoundError(_l("That conversation is not in this folder any more."))
    conversation = _conversations(client, owner, folder, info, [found.members(index)])[0]
    unread = [row.uid for name, row in conversation.messages if name == folder and not row.seen]
    if unread:
        listing.select(client, folder)
        try:
            client.add_flags(unread, [b"\\Seen"], silent=True)
        except IMAPClientError as exc:
            raise imap.refused(exc) from exc
        conversation.messages = [(name, _seen(row) if row.uid in unread and name == folder else row)
                                 for name, row in conversation.messages]
    if sent and sent != folder:
        _add_answers(client, cache, owner, sent, [conversation])
    newer = found.newest(index - 1) if index > 0 else None
    older = found.newest(index + 1) if index + 1 < len(found) else None
    return conversation, (newer, older)


def _seen(row: listing.Summary) -> listing.Summary:
    return replace(row, flags=row.flags | {"\\Seen"})


def _conversations(client: IMAPClient, owner: str, folder: str, info: dict,
                   members: list[list[int]]) -> list[Conversation]:
    """Conversations of MEMBERS (UIDs of FOLDER), their rows fetched or cached, oldest first."""
    where = (owner, folder, int(info.get(b"UIDVALIDITY", 0)))
    rows = {row.uid: row for row in listing.cached_summaries(
        client, where, [uid for group in members for uid in group],
        int(info.get(b"HIGHESTMODSEQ", 0)))}
    found = []
    for group in members:
        present = [uid for uid in group if uid in rows]  # an expunged one is left out
        if present:
            found.append(Conversation(folder, present, sorted(
                ((folder, rows[uid]) for uid in present), key=lambda pair: _when(pair[1]))))
    return found


def _add_answers(client: IMAPClient, cache: LruCache, owner: str, sent: str,
                 conversations: list[Conversation]) -> None:
    """Add to each of CONVERSATIONS the messages of SENT that belong to it."""
    ids: dict[str, Conversation] = {}
    wanted: list[tuple[str, str]] = []  # (header, Message-ID) to search Sent for
    for conversation in conversations:
        own = {row.message_id for _, row in conversation.messages}
        for _, row in conversation.messages[-PER_CONVERSATION_IDS:]:
            # An answer names what it answers in References (RFC 5322 section 3.6.4: the
            # parent's References and its Message-ID, so In-Reply-To's too); a parent
            # the folder lacks may be the person's own message in Sent.
            for header, value in (("References", row.message_id), ("Message-ID", row.in_reply_to)):
                if _safe(value) and value not in ids and (header == "References" or value not in own):
                    ids[value] = conversation
                    wanted.append((header, value))
    if not wanted:
        return
    try:
        info = listing.state(client, sent)
    except NotFoundError:
        return  # no Sent folder (yet): nothing to add
    found = _answers(client, cache, owner, sent, listing.sort_state(info, None), wanted[:MAX_IDS])
    if not found:
        return
    where = (owner, sent, int(info.get(b"UIDVALIDITY", 0)))
    rows = {row.uid: row for row in listing.cached_summaries(
        client, where, [uid for uid, _ in found], int(info.get(b"HIGHESTMODSEQ", 0)))}
    for uid, refs in found:
        row = rows.get(uid)
        owner_of = next((ids[ref] for ref in refs if ref in ids), None)
        if row is None or owner_of is None:
            continue
        if row.message_id and any(r.message_id == row.message_id for _, r in owner_of.messages):
            continue  # the same message in both folders (a copy to oneself)
        owner_of.messages.append((sent, row))
    for conversation in conversations:
        conversation.messages.sort(key=lambda pair: _when(pair[1]))


def _answers(client: IMAPClient, cache: LruCache, owner: str, sent: str, valid_for: tuple,
             wanted: list[tuple[str, str]]) -> list[tuple[int, tuple[str, ...]]]:
    """The messages of SENT whose header names the Message-ID, for each (header, Message-ID)
    of WANTED, as (UID, the Message-IDs it names and its own).

    Kept per Message-ID while Sent stays as it was (VALID_FOR): when new mail puts a
    new conversation on the page, only its Message-IDs are searched for.
    """
    known = {pair: cache.get((owner, sent, *pair), valid_for) for pair in wanted}
    missing = [pair for pair, hits in known.items() if hits is None]
    if missing:
        found = _search_sent(client, sent, missing)
        for pair in missing:
            known[pair] = tuple(hit for hit in found if pair[1] in hit[1])
            cache.put((owner, sent, *pair), known[pair], valid_for,
                      size=100 + len(pair[1]) + sum(64 + 40 * len(refs) for _, refs in known[pair]))
    return sorted({hit for hits in known.values() for hit in hits})


def _safe(value: str) -> bool:
    return bool(SAFE_ID.fullmatch(value)) and not _UNSAFE_IN_ID & set(value)


def _when(row: listing.Summary) -> float:
    return row.date.timestamp() if isinstance(row.date, datetime) else 0.0


def _search_sent(client: IMAPClient, sent: str,
                 wanted: list[tuple[str, str]]) -> list[tuple[int, tuple[str, ...]]]:
    """UIDs of SENT whose header names the Message-ID, for any (header, Message-ID) of
    WANTED, in one SEARCH; with the Message-IDs each names and its own.

    Each criterion costs Dovecot a pass over Sent's headers (100 of them ~45 ms at 5,000
    messages), so an answer is found by References alone, not also by In-Reply-To.
    """
    criteria = [["HEADER", header, value] for header, value in wanted]
    listing.select(client, sent, readonly=True)
    try:
        uids = client.search(["OR"] * (len(criteria) - 1) + criteria)
        data = client.fetch(uids, [threads.REFERENCE_FETCH, b"ENVELOPE"]) if uids else {}
    except IMAPClientError as exc:
        raise imap.refused(exc) from exc
    found = []
    for uid in sorted(data):
        envelope = data[uid].get(b"ENVELOPE")
        named = threads.message_ids(data[uid].get(threads.REFERENCE_KEY) or b"")
        own = envelope.message_id if envelope and envelope.message_id else b""
        found.append((uid, tuple(dict.fromkeys(v.decode("ascii", "replace")
                                               for v in [*reversed(named), own] if v))))
    return found
