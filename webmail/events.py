"""New-mail notifications: a Server-Sent Events stream per open tab (issue 20 item 4), for the
INBOX and the folders the person chose in Settings → Notifications.

waitress serves with a fixed pool of threads, and a streamed response holds its thread
until it ends. So `python app.py` gives waitress NOTIFY_STREAMS threads on top of
THREADS, and streams are bounded three ways: each ends after NOTIFY_STREAM_SECONDS (the
browser opens the next one, as EventSource does), a person has at most
NOTIFY_STREAMS_PER_PERSON at once, and the process at most NOTIFY_STREAMS; a stream
over a cap is told to come back in a minute. Pages thus always keep THREADS threads.
A quiet stream writes a comment every NOTIFY_HEARTBEAT_SECONDS, which is how waitress
learns that the tab has gone (a write to a closed socket ends the stream). Each stream
waits on an IMAP connection of its own (IDLE), never a pooled one.
"""
from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from typing import Iterator

from flask import Response, current_app, request, url_for
from flask_login import current_user, login_required

from core.extensions import db
from core.mail import imap, watch
from core.mail.errors import MailError
from core.services.access import signin
from core.services.mail import identities
from portal.auth.current import own_mail_connection

from .blueprint import bp

log = logging.getLogger(__name__)
BUSY_RETRY_MS = 60_000  # a stream refused by a cap: the browser tries again after this
RETRY_MS = 3_000  # after a stream ends by its time limit or the IMAP server went away


class Slots:
    """How many streams each login holds in this process, within two caps."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: Counter[str] = Counter()

    def take(self, login: str, per_person: int, total: int) -> bool:
        """Hold a slot for LOGIN; False when LOGIN or the process is at its cap."""
        with self._lock:
            if self._held[login] >= per_person or sum(self._held.values()) >= total:
                return False
            self._held[login] += 1
            return True

    def give_back(self, login: str) -> None:
        """Release one of LOGIN's slots."""
        with self._lock:
            self._held[login] -= 1
            if self._held[login] <= 0:
                del self._held[login]


slots = Slots()


@bp.route("/mail/events")
@login_required
def events():
    """The INBOX's unread count and new mail in it and the chosen folders as they happen
    (text/event-stream)."""
    if current_user.reader or not identities.preferences(db.session, current_user.address).notifications:
        return "", 204  # EventSource gives up on a 204: notifications are off
    cfg, login = current_app.config, current_user.login
    if not slots.take(login, int(cfg["NOTIFY_STREAMS_PER_PERSON"]), int(cfg["NOTIFY_STREAMS"])):
        return _event_stream([f"retry: {BUSY_RETRY_MS}\n\n"])
    try:
        client = own_mail_connection()
    except BaseException:
        slots.give_back(login)
        raise
    app = current_app._get_current_object()
    chosen = tuple(identities.notification_folders(db.session, current_user.address))
    return _event_stream(Stream(app, current_user.id, login, client, app.create_url_adapter(request),
                                chosen))


def _event_stream(body) -> Response:
    # X-Accel-Buffering: nginx would otherwise hold the events back in its buffer.
    return Response(body, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


class Stream:
    """The body of one stream: iterated by waitress, closed by it whatever happens."""

    def __init__(self, app, session_id: str, login: str, client, urls, folders: tuple[str, ...]) -> None:
        self.app, self.session_id, self.login = app, session_id, login
        self.client, self.urls = client, urls  # URLS: this request's URL adapter
        self.folders = folders  # besides the INBOX
        self._closed = False

    def __iter__(self) -> Iterator[str]:
        cfg = self.app.config
        yield f"retry: {RETRY_MS}\n\n"
        try:
            for event in watch.mail_events(self.client, float(cfg["NOTIFY_STREAM_SECONDS"]),
                                           float(cfg["NOTIFY_HEARTBEAT_SECONDS"]), self.folders):
                if not self._signed_in():
                    return
                yield self._format(event)
        except MailError as exc:
            log.info("new-mail stream of %s ended: %s", self.login, exc)

    def _signed_in(self) -> bool:
        # Signing out deletes the session row; the stream must not outlive it.
        with self.app.app_context():
            return signin.session_exists(db.session, self.session_id)

    def _format(self, event: watch.Event) -> str:
        if isinstance(event, watch.Unseen):
            return _message("unseen", {"inbox": event.count})
        if isinstance(event, watch.Arrived):
            name, address = event.sender
            return _message("mail", {"uid": event.uid, "folder": event.folder, "from": name or address,
                                     "subject": event.subject,
                                     "url": self.urls.build("webmail.message",
                                                            {"uid": event.uid, "folder": event.folder})})
        return ": still here\n\n"

    def close(self) -> None:
        """Log out of IMAP and free the slot (once, however the stream ended)."""
        if not self._closed:
            self._closed = True
            imap.close(self.client)
            slots.give_back(self.login)


def _message(kind: str, data: dict) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


@bp.app_context_processor
def _stream_url() -> dict:
    def notify_events_url() -> str:
        """The new-mail stream's URL for this page, or '' when notifications are off."""
        if not current_user.is_authenticated or current_user.reader:
            return ""  # a server admin reading someone's mailbox is not told about their mail
        on = identities.preferences(db.session, current_user.address).notifications
        return url_for("webmail.events") if on else ""
    return {"notify_events_url": notify_events_url}
