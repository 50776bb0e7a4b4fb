"""Send later and Undo send: messages kept in the database until the worker sends them.

Scheduling stores the message as composed and its envelope with the person's mail
password, sealed by the privileged helper (core/models/scheduled.py); the form's draft
leaves Drafts. A person with two-factor sign-in, whose main password Dovecot refuses for
SMTP, gets instead an internal app password of the message's own, accepted only from
the app's address and removed with the message, so it still goes after they sign out. The worker (stack/worker/sender.py) sends each when its time comes, as
the person, through the same submission port as Send, then files the copy in Sent.
Edit, Cancel and Undo put the message back into Drafts before its row goes, so nothing
is lost at any step; a message the worker has taken can no longer be called back.
"""
from __future__ import annotations

import email
import email.policy
import email.utils
import logging
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from imapclient import IMAPClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.i18n import N_
from core.i18n import lazy_gettext as _l
from core.mail import actions, imap, smtp
from core.mail.compose import Draft, read_draft, to_bytes, without_private
from core.mail.errors import (
    AuthenticationFailed, ImapError, MailError, NotFoundError, PartiallyRefused,
    ServiceUnavailable,
)
from core.models.base import utcnow
from core.models.scheduled import FAILED, QUEUED, SENDING, ScheduledMessage
from core.services.access import app_passwords, twofactor
from core.services.errors import InvalidInput, NotFound
from core.services.server import mailstore

from . import compose
from .identities import Identity
from .uploads import Workspace

log = logging.getLogger(__name__)
LATEST = timedelta(days=366)  # how far ahead a message may be scheduled
RETRY = timedelta(minutes=1)  # the pause after the mail server did not answer
# Stored with a message by the worker, in English, and translated where shown (N_); the two
# the pages say at once read in the person's language (_l).
INTERRUPTED = N_("The worker stopped while sending this message, so it may have gone out. "
                 "Look in Sent: if it is not there, edit it and send it again.")
NOT_RESEALED = _l("Your scheduled messages could not be given the new password: edit each one "
                  "in Scheduled and send it again.")
NO_OWN_CREDENTIALS = _l("Your scheduled messages could not be given a sign-in that works with "
                        "two-factor sign-in: edit each one in Scheduled and send it again.")
NOT_ANSWERED = N_("Not sent yet: the mail server (Postfix) did not answer. It will be tried again "
                  "in a minute.")
SIGN_IN_REFUSED = N_("The mail server refused the sign-in kept with this message (was your "
                     "password changed?). Edit it and send it again.")


def send_time(local: str, zone_name: str, now: datetime | None = None) -> datetime:
    """LOCAL ('2026-12-24T09:30', as a datetime-local field sends it) in ZONE_NAME, in UTC.

    InvalidInput when it is no time, already past, or more than a year ahead.
    """
    zone = time_zone(zone_name)
    try:
        naive = datetime.fromisoformat(local.strip())
    except ValueError:
        raise InvalidInput(_l("Choose the date and time to send the message at.")) from None
    if naive.tzinfo is not None:
        raise InvalidInput(_l("Choose the date and time to send the message at."))
    at = naive.replace(tzinfo=zone).astimezone(timezone.utc)
    now = now or utcnow()
    if at <= now:
        raise InvalidInput(_l("That time has passed: choose a time in the future."))
    if at > now + LATEST:
        raise InvalidInput(_l("A message can be scheduled up to a year ahead."))
    return at


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone NAME ('Europe/Rome') the browser reported; UTC when it reported none."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(_l('Unknown time zone %(name)s.', name=f"{name[:64]!r}")) from None


def schedule(db: Session, client: IMAPClient, draft: Draft, workspace: Workspace,
             identity: Identity, cfg: dict, login: tuple[str, str], send_at: datetime,
             zone_name: str = "UTC", undo: bool = False) -> ScheduledMessage:
    """Keep DRAFT (from IDENTITY, as LOGIN's person) to be sent at SEND_AT; the form is closed
    and its draft leaves Drafts. UNDO marks a plain Send waiting out its seconds of Undo."""
    message, recipients = compose.outgoing_message(draft, workspace, identity, for_draft=True)
    compose.claim(workspace)
    row = ScheduledMessage(
        address=login[0], sender=identity.address, recipients="\n".join(recipients),
        subject=draft.subject, source=to_bytes(message), sealed_credential=b"",
        send_at=send_at, time_zone=zone_name or "UTC", undo=undo)
    db.add(row)
    try:
        db.flush()  # the row's id, for a credential of its own
        row.sealed_credential = _seal(cfg, row.address, _send_password(db, row, login[1]))
    except MailError as exc:
        db.rollback()
        workspace.update_state(sending=0)
        raise compose.SendFailed(_l('The message could not be scheduled: %(exc)s', exc=exc), None) from exc
    db.commit()
    with workspace.lock():
        old = workspace.state().get("draft_uid") or draft.draft_uid
        workspace.update_state(sent=True, sending=0)
    try:
        compose.drop_draft(client, old)
    except (ImapError, NotFoundError) as exc:
        log.warning("scheduled, but the draft stayed in Drafts: %s", exc)
    workspace.clear()
    return row


def waiting(db: Session, address: str) -> list[ScheduledMessage]:
    """ADDRESS's scheduled messages, the next one first."""
    return list(db.scalars(select(ScheduledMessage).where(ScheduledMessage.address == address)
                           .order_by(ScheduledMessage.send_at, ScheduledMessage.id)))


def count(db: Session, address: str) -> int:
    """How many messages ADDRESS has waiting (the sidebar's figure)."""
    return db.scalar(select(func.count()).select_from(ScheduledMessage)
                     .where(ScheduledMessage.address == address)) or 0


def owned(db: Session, address: str, message_id: int) -> ScheduledMessage:
    """ADDRESS's scheduled message MESSAGE_ID; NotFound for anyone else's."""
    row = db.get(ScheduledMessage, message_id)
    if row is None or row.address != address:
        raise NotFound(_l("That scheduled message is no longer there: it has been sent or taken back."))
    return row


def unschedule(db: Session, client: IMAPClient, address: str, message_id: int) -> int | None:
    """Take ADDRESS's message MESSAGE_ID back: into Drafts, then off the schedule; its draft UID.

    The draft is written first and the row deleted only while the worker has not taken
    it, so a message is always in one place or the other; AlreadySent when too late.
    """
    row = owned(db, address, message_id)
    if row.state == SENDING:
        raise compose.AlreadySent(_l("This message is being sent right now."))
    drafts = compose.special_folder(client, "\\Drafts")
    uid = actions.append(client, drafts, row.source, compose.DRAFT_FLAGS)
    gone = db.execute(delete(ScheduledMessage).where(ScheduledMessage.id == row.id,
                                                     ScheduledMessage.state != SENDING))
    if gone.rowcount == 1:
        app_passwords.drop_scheduled_credential(db, message_id)
    db.commit()
    if gone.rowcount != 1:
        compose.drop_draft(client, uid)
        raise compose.AlreadySent(_l("This message is being sent right now."))
    return uid


def reseal(db: Session, cfg: dict, address: str, password: str) -> bool:
    """Keep ADDRESS's new PASSWORD with their waiting messages (after a password change),
    so they still go; one refused for the old password is queued again. False when the
    helper could not seal it (those messages will then fail, listed, for the person).
    With two-factor sign-in on, each message has a credential of its own, which a new
    password leaves as it is."""
    if not count(db, address) or twofactor.is_on(db, address):
        return True
    try:
        sealed = _seal(cfg, address, password)
    except MailError as exc:
        log.error("the scheduled messages of %s keep the old password: %s", address, exc)
        return False
    mine = (ScheduledMessage.address == address, ScheduledMessage.state != SENDING)
    db.execute(update(ScheduledMessage).where(*mine).values(sealed_credential=sealed))
    db.execute(update(ScheduledMessage).where(*mine, ScheduledMessage.error == SIGN_IN_REFUSED)
               .values(state=QUEUED, error=None))
    db.commit()
    return True


def with_own_credentials(db: Session, cfg: dict, address: str) -> bool:
    """ADDRESS just turned two-factor sign-in on: their waiting messages, which hold the
    main password Dovecot now refuses for SMTP, each get a credential of their own.
    False when the helper could not seal them (they will fail, listed, for the person)."""
    rows = list(db.scalars(select(ScheduledMessage).where(
        ScheduledMessage.address == address, ScheduledMessage.state != SENDING)))
    try:
        for row in rows:
            app_passwords.drop_scheduled_credential(db, row.id)
            row.sealed_credential = _seal(cfg, address, _send_password(db, row, ""))
            if row.error == SIGN_IN_REFUSED:
                row.state, row.error = QUEUED, None
    except MailError as exc:
        log.error("the scheduled messages of %s keep the main password: %s", address, exc)
        return False
    return True


def _send_password(db: Session, row: ScheduledMessage, password: str) -> str:
    """What ROW is sent with: PASSWORD, or a credential of its own when its person has
    two-factor sign-in (in the caller's transaction)."""
    if twofactor.is_on(db, row.address):
        return app_passwords.issue_scheduled_credential(db, row.address, row.id)
    return password


def _seal(cfg: dict, address: str, password: str) -> bytes:
    """PASSWORD sealed by the privileged helper for ADDRESS's scheduled messages."""
    sealed = mailstore.call(cfg, "seal_send_credential", address=address, password=password)
    return sealed.encode("ascii")


# --- the worker's side: each call inside the caller's transaction, which commits ------


def take_due(db: Session, now: datetime | None = None) -> list[int]:
    """Claim every queued message whose time has come (state -> sending); their ids."""
    now = now or utcnow()
    due = list(db.scalars(select(ScheduledMessage.id).where(
        ScheduledMessage.state == QUEUED, ScheduledMessage.send_at <= now)
        .order_by(ScheduledMessage.send_at)))
    taken = []
    for message_id in due:  # one by one: a row Edit took back meanwhile is skipped
        claimed = db.execute(update(ScheduledMessage).where(
            ScheduledMessage.id == message_id, ScheduledMessage.state == QUEUED)
            .values(state=SENDING))
        if claimed.rowcount == 1:
            taken.append(message_id)
    return taken


def mark_interrupted(db: Session) -> int:
    """Rows a stopped worker left in `sending`: failed, since they may have gone out."""
    result = db.execute(update(ScheduledMessage).where(ScheduledMessage.state == SENDING)
                        .values(state=FAILED, error=INTERRUPTED))
    return result.rowcount


def outgoing(row: ScheduledMessage, now: datetime | None = None):
    """ROW's message as it leaves: dated now, without the form's private headers."""
    message = email.message_from_bytes(row.source, policy=email.policy.SMTP)
    del message["Date"]
    message["Date"] = email.utils.format_datetime(now or email.utils.localtime())
    return without_private(message)


def deliver(db: Session, row: ScheduledMessage, password: str, cfg: dict) -> bool:
    """Submit ROW as its person with PASSWORD, file it in Sent and drop it; True when sent.

    When the mail server does not answer the row waits (RETRY) with the error shown;
    when it refuses, the row stays, failed, with the reason, for the person to edit.
    """
    message = outgoing(row)
    try:
        smtp.send(smtp.SmtpSettings.submission(cfg), message, login=(row.address, password),
                  envelope_from=row.sender, recipients=row.envelope())
    except PartiallyRefused as exc:
        log.warning("scheduled message %s: not delivered to %s: %s", row.id, exc.refused, exc)
    except ServiceUnavailable:
        _keep(db, row, QUEUED, NOT_ANSWERED, utcnow() + RETRY)
        return False
    except AuthenticationFailed:
        _keep(db, row, FAILED, SIGN_IN_REFUSED)
        return False
    except MailError as exc:
        _keep(db, row, FAILED, compose.failure_text(exc))
        return False
    _after_sending(row, message, password, cfg)
    app_passwords.drop_scheduled_credential(db, row.id)
    db.delete(row)
    log.info("scheduled message %s of %s sent", row.id, row.address)
    return True


def give_up(db: Session, row: ScheduledMessage, reason: str) -> None:
    """ROW cannot be sent by the worker (e.g. its sealed credential does not open)."""
    _keep(db, row, FAILED, reason)


def _keep(db: Session, row: ScheduledMessage, state: str, error: str,
          send_at: datetime | None = None) -> None:
    row.state, row.error, row.attempts = state, str(error), row.attempts + 1  # English: no reader here
    if send_at is not None:
        row.send_at = send_at
    log.warning("scheduled message %s of %s: %s", row.id, row.address, error)


def _after_sending(row: ScheduledMessage, message, password: str, cfg: dict) -> None:
    """The copy for Sent and the original's Answered flag, over IMAP as the person
    (the message is gone either way: a failure here is logged, never retried)."""
    try:
        client = imap.login(imap.ImapSettings.from_config(cfg), row.address, password)
    except MailError as exc:
        log.error("scheduled message %s sent, but no copy in Sent: %s", row.id, exc)
        return
    try:
        warning = compose.file_sent_copy(client, message)
        if warning:
            log.error("scheduled message %s: %s", row.id, warning)
        compose.mark_original(client, read_draft(row.source)[0])
    except (ImapError, NotFoundError) as exc:
        log.warning("after sending scheduled message %s: %s", row.id, exc)
    finally:
        imap.close(client)
