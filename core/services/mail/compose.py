"""Writing mail: identities, reply and forward forms, drafts in Drafts, sending through Postfix."""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace
from email.message import EmailMessage

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from core.i18n import lazy_gettext as _l
from core.mail import actions, folders, listing, smtp
from core.mail.compose import (
    Draft, FilePart, InvalidRecipients, Original, build_message, format_recipients,
    new_message_id, parse_recipients, read_draft, read_original, to_bytes, without_private,
)
from core.mail.errors import (
    AuthenticationFailed, ImapError, MailError, NotFoundError, PartiallyRefused,
    ServiceUnavailable, SmtpError,
)
from core.mail.signature import with_signature, without_signature
from core.services.errors import InvalidInput, ServiceError

from .identities import Identity, identities, pick_identity  # noqa: F401  (compose's names)
from .uploads import Workspace

log = logging.getLogger(__name__)

DRAFT_FLAGS = ("\\Draft", "\\Seen")
REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|antw)(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
FORWARD_PREFIX = re.compile(r"^\s*(?:(?:fwd?|wg|tr)\s*:\s*)+", re.IGNORECASE)
SENDING_TIMEOUT = 300  # seconds after which a crashed send no longer blocks a retry


class SendFailed(ServiceError):
    """The mail server did not take the message; the draft was kept (draft_uid)."""

    def __init__(self, reason: str, draft_uid: int | None) -> None:
        super().__init__(reason)
        self.draft_uid = draft_uid


class AlreadySent(ServiceError):
    """This form's message was sent, is being sent, or was discarded."""


@dataclass
class SendReport:
    """What happened after the server accepted the message."""

    recipients: list[str]
    warning: str = ""


def reply_subject(subject: str) -> str:
    """'Re: ' once: 'Re: RE: Aw: Lunch' -> 'Re: Lunch'."""
    return "Re: " + REPLY_PREFIX.sub("", subject or "").strip()


def forward_subject(subject: str) -> str:
    """'Fwd: ' once: 'Fwd: FW: Lunch' -> 'Fwd: Lunch'."""
    return "Fwd: " + FORWARD_PREFIX.sub("", subject or "").strip()


def references(original: Original) -> str:
    """The reply's References (RFC 5322 §3.6.4): the parent's References, then its Message-ID."""
    chain = original.references.split()
    if not chain and len(original.in_reply_to.split()) == 1:
        chain = [original.in_reply_to.strip()]
    if original.message_id:
        chain.append(original.message_id)
    return " ".join(dict.fromkeys(chain))


def _who(pairs: list[tuple[str, str]]) -> str:
    return (pairs[0][0] or pairs[0][1]) if pairs else "someone"


def quote(original: Original) -> str:
    """'On Tue, 3 Mar 2026 at 09:12, Priya wrote:' and the text with '> ' before each line."""
    when = original.date
    said = f"On {when:%a}, {when.day} {when:%b %Y at %H:%M}, " if when else "Earlier, "
    lines = without_signature(original.text).rstrip("\n").split("\n")
    quoted = "\n".join(f"> {line}" if line else ">" for line in lines)
    return f"{said}{_who(original.from_)} wrote:\n{quoted}\n"


def reply_recipients(original: Original, mode: str,
                     own: set[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(To, Cc) of a reply; reply-all adds the other recipients, never the person's own addresses."""
    mine = lambda pair: pair[1].lower() in own  # noqa: E731
    if original.from_ and all(mine(p) for p in original.from_):
        to = [p for p in original.to if not mine(p)] or original.to  # replying to one's own mail
    else:
        to = original.reply_to or original.from_
    cc: list[tuple[str, str]] = []
    if mode == "all":
        taken = {p[1].lower() for p in to}
        for pair in original.to + original.cc:
            if not mine(pair) and pair[1].lower() not in taken:
                cc.append(pair)
                taken.add(pair[1].lower())
    return to, cc


def reply_draft(original: Original, mode: str, choices: list[Identity]) -> Draft:
    """The form of a reply ('reply') or reply-all ('all') to ORIGINAL."""
    own = {i.address for i in choices}
    to, cc = reply_recipients(original, mode, own)
    addressed = [p[1].lower() for p in original.to + original.cc]
    sender = next((a for a in addressed if a in own), choices[0].address)
    return Draft(sender=sender, to=format_recipients(to), cc=format_recipients(cc),
                 subject=reply_subject(original.subject), body=quote(original) + "\n",
                 message_id=new_message_id(sender), in_reply_to=original.message_id,
                 references=references(original))


def signed(draft: Draft, identity: Identity, above: bool = False) -> Draft:
    """DRAFT of a new form with IDENTITY's signature in its text (ABOVE a quote or forward)."""
    if identity.signature.strip():
        draft.body = with_signature(draft.body, identity.signature, above)
        draft.markdown = draft.markdown or identity.signature_markdown
    return draft


def forward_text(original: Original) -> str:
    """The inline-forward body: a short header block, then the original text."""
    when = original.date.strftime("%a, %d %b %Y %H:%M %z") if original.date else ""
    head = [("From", format_recipients(original.from_)), ("Date", when),
            ("Subject", original.subject), ("To", format_recipients(original.to)),
            ("Cc", format_recipients(original.cc))]
    block = "\n".join(f"{name}: {value}" for name, value in head if value)
    return f"\n\n---------- Forwarded message ----------\n{block}\n\n{original.text}"


def special_folder(client: IMAPClient, special: str) -> str:
    """The name of the Drafts or Sent folder ('\\\\Drafts'), created when missing."""
    tree = folders.list_folders(client, counts=False)
    if folders.ensure_special_folders(client, tree):
        tree = folders.list_folders(client, counts=False)
    return folders.find_special(tree, special)


def prefill(client: IMAPClient, folder: str, uid: int, mode: str, choices: list[Identity],
            workspace: Workspace, signature_above: bool = False) -> Draft:
    """The form replying to or forwarding message UID of FOLDER (forwarded files go to WORKSPACE).

    The sender's signature goes below the reply, or above the quote when SIGNATURE_ABOVE;
    always above a forwarded text.
    """
    listing.select(client, folder, readonly=True)
    raw = actions.raw_message(client, uid)
    original = read_original(raw)
    if mode in ("reply", "all"):
        draft = reply_draft(original, mode, choices)
    else:
        sender = choices[0].address
        draft = Draft(sender=sender, subject=forward_subject(original.subject),
                      message_id=new_message_id(sender))
        if mode == "forward-attachment":
            name = re.sub(r"[^\w .,()-]+", "", original.subject).strip()[:80] or "message"
            workspace.add_bytes(raw, f"{name}.eml", "message/rfc822")
        else:
            draft.body = forward_text(original)
            for part in original.attachments:
                workspace.add_bytes(part.data, part.filename, part.content_type)
    draft.reply_mode, draft.reply_folder, draft.reply_uid = mode, folder, uid
    return signed(draft, pick_identity(choices, draft.sender, strict=False),
                  above=signature_above or mode == "forward")


def open_draft(client: IMAPClient, uid: int, workspace: Workspace) -> Draft:
    """The form of draft UID in Drafts, its attachments copied into WORKSPACE."""
    drafts = special_folder(client, "\\Drafts")
    listing.select(client, drafts, readonly=True)
    draft, files = read_draft(actions.raw_message(client, uid))
    for part in files:
        workspace.add_bytes(part.data, part.filename, part.content_type)
    draft.draft_uid = uid
    workspace.update_state(draft_uid=uid)
    return draft


def files_of(workspace: Workspace) -> list[FilePart]:
    """The workspace's uploads as parts to attach."""
    return [FilePart(u.filename, u.content_type, workspace.read(u.id))
            for u in workspace.uploads()]


def save_draft(client: IMAPClient, draft: Draft, workspace: Workspace,
               identity: Identity) -> int | None:
    """Save DRAFT to Drafts, replacing its previous version; returns the new UID.

    APPEND first, then expunge the old UID, so a failure never loses both. The
    workspace lock makes an autosave, a beacon and a send take turns.
    """
    if not draft.message_id:
        draft.message_id = new_message_id(identity.address)
    with workspace.lock():
        state = workspace.state()
        _refuse_if_closed(state)
        drafts = special_folder(client, "\\Drafts")
        msg = build_message(draft, identity.name, files_of(workspace), for_draft=True,
                            reply_to=identity.reply_to)
        uid = actions.append(client, drafts, to_bytes(msg), DRAFT_FLAGS)
        if uid is None:
            uid = _newest_with_id(client, drafts, draft.message_id)
        old = state.get("draft_uid") or draft.draft_uid
        if old and old != uid:
            listing.select(client, drafts)
            actions.expunge(client, [int(old)])
        workspace.update_state(draft_uid=uid)
    draft.draft_uid = uid
    return uid


def _newest_with_id(client: IMAPClient, folder: str, message_id: str) -> int | None:
    """The UID just appended, on servers without UIDPLUS (imapclient quotes the value)."""
    listing.select(client, folder)
    try:
        found = client.search(["HEADER", "Message-ID", message_id])
    except IMAPClientError:
        return None
    return max(found) if found else None


def failure_text(exc: MailError) -> str:
    """Why the mail server did not take a message, in words for the person who sent it."""
    if isinstance(exc, AuthenticationFailed):
        return (_l("The mail server refused your sign-in for sending. Sign out and in again; "
                "if that does not help, ask your administrator."))
    if isinstance(exc, ServiceUnavailable):
        detail = f" ({exc.detail})" if exc.detail else ""
        return (_l('The %(service)s does not answer right now%(detail)s, so nothing was sent. Try '
                   'again in a moment.', service=exc.name, detail=detail))
    return _l('The mail server did not accept the message: %(exc)s', exc=exc)


def all_recipients(draft: Draft) -> list[str]:
    """Every address of To, Cc and Bcc; InvalidInput names all the bad ones at once."""
    found, bad = [], []
    for typed in (draft.to, draft.cc, draft.bcc):
        try:
            found += [address for _, address in parse_recipients(typed)]
        except InvalidRecipients as exc:
            bad += exc.bad
    if bad:
        raise InvalidInput(_l('These are not e-mail addresses: %(bad)s. Correct them and send '
                              'again.', bad=', '.join(bad)))
    return found


def _refuse_if_closed(state: dict) -> None:
    if state.get("discarded"):
        raise AlreadySent(_l("This message was discarded."))
    if state.get("sent"):
        raise AlreadySent(_l("This message has been sent already."))


def claim(workspace: Workspace) -> None:
    """Mark the form's message as being sent; AlreadySent when it was sent, is being
    sent or was discarded (a double click, a second tab)."""
    with workspace.lock():
        state = workspace.state()
        _refuse_if_closed(state)
        if time.time() - state.get("sending", 0) < SENDING_TIMEOUT:
            raise AlreadySent(_l("This message is being sent already."))
        workspace.update_state(sending=time.time())


def outgoing_message(draft: Draft, workspace: Workspace, identity: Identity, *,
                     for_draft: bool = False) -> tuple[EmailMessage, list[str]]:
    """DRAFT as it leaves (the identity's automatic Bcc added) and its envelope recipients.

    FOR_DRAFT keeps the form's private state (X-Mailroom-*) in it, for a message that
    waits (Send later) and may come back into the form.
    """
    if not all_recipients(draft):
        raise InvalidInput(_l("Add at least one recipient."))
    draft.message_id = draft.message_id or new_message_id(identity.address)
    outgoing = with_identity_bcc(draft, identity)
    message = build_message(outgoing, identity.name, files_of(workspace), for_draft=for_draft,
                            reply_to=identity.reply_to)
    return message, all_recipients(outgoing)


def send(client: IMAPClient, draft: Draft, workspace: Workspace, identity: Identity,
         cfg: dict, login: tuple[str, str]) -> SendReport:
    """Submit DRAFT as IDENTITY (submission port of CFG), file it in Sent, drop draft and uploads.

    On refusal the draft is saved to Drafts and SendFailed says why.
    """
    message, recipients = outgoing_message(draft, workspace, identity)
    message = without_private(message)
    claim(workspace)
    warning = ""
    try:
        smtp.send(smtp.SmtpSettings.submission(cfg), message, login=login)
    except PartiallyRefused as exc:
        # Sent to the others already: filing it as sent avoids a duplicate on retry.
        recipients = [r for r in recipients if r not in exc.refused]
        warning = _l('Not delivered to %(refused)s: %(exc)s', refused=', '.join(exc.refused), exc=exc)
    except (SmtpError, AuthenticationFailed, ServiceUnavailable) as exc:
        log.warning("send refused for %s: %s", identity.address, exc)
        workspace.update_state(sending=0)
        raise SendFailed(failure_text(exc), _rescue(client, draft, workspace, identity)) from exc
    except Exception:
        workspace.update_state(sending=0)  # an unexpected error must not block a retry
        raise
    with workspace.lock():
        old = workspace.state().get("draft_uid") or draft.draft_uid
        workspace.update_state(sent=True, sending=0)
    report = SendReport(recipients, " ".join(map(str, filter(None, (warning, file_sent_copy(client, message))))))
    _tidy_up(client, draft, old)
    workspace.clear()
    return report


def with_identity_bcc(draft: Draft, identity: Identity) -> Draft:
    """A copy of DRAFT whose Bcc also has the identity's automatic Bcc (each address once)."""
    typed = parse_recipients(draft.bcc)
    have = {address for _, address in typed}
    extra = [pair for pair in parse_recipients(identity.bcc) if pair[1] not in have]
    return replace(draft, bcc=format_recipients(typed + extra)) if extra else draft


def _rescue(client: IMAPClient, draft: Draft, workspace: Workspace,
            identity: Identity) -> int | None:
    try:
        return save_draft(client, draft, workspace, identity)
    except MailError as exc:
        log.error("could not keep the unsent message as a draft: %s", exc)
        return None


def file_sent_copy(client: IMAPClient, message) -> str:
    try:
        actions.append(client, special_folder(client, "\\Sent"), to_bytes(message), ("\\Seen",))
    except MailError as exc:
        log.error("sent, but the copy for Sent failed: %s", exc)
        return _l('The message was sent, but no copy could be saved in Sent: %(exc)s', exc=exc)
    return ""


def _tidy_up(client: IMAPClient, draft: Draft, draft_uid: int | None) -> None:
    """Delete the draft and mark the original answered or forwarded; failures only logged."""
    try:
        drop_draft(client, draft_uid)
        mark_original(client, draft)
    except (ImapError, NotFoundError) as exc:
        log.warning("after sending: %s", exc)


def drop_draft(client: IMAPClient, draft_uid: int | None) -> None:
    """Expunge draft DRAFT_UID from Drafts (nothing when None)."""
    if draft_uid:
        listing.select(client, special_folder(client, "\\Drafts"))
        actions.expunge(client, [int(draft_uid)])


def mark_original(client: IMAPClient, draft: Draft) -> None:
    """Flag the message DRAFT replies to as answered, or the one it forwards as forwarded."""
    if draft.reply_uid and draft.reply_folder:
        listing.select(client, draft.reply_folder)
        flag = "answered" if draft.reply_mode in ("reply", "all") else "forwarded"
        actions.set_flag(client, [draft.reply_uid], flag, True)


def discard(client: IMAPClient, draft_uid: int | None, workspace: Workspace) -> None:
    """Throw the message away: its saved draft and its uploads."""
    with workspace.lock():
        drop_draft(client, workspace.state().get("draft_uid") or draft_uid)
        workspace.update_state(discarded=True)  # a late autosave must not bring it back
    workspace.clear()
