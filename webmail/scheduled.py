"""Send later and Undo send: scheduling from the compose form, the Scheduled view, Edit, Cancel."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel.dates import format_date
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.extensions import db
from core.models.base import utcnow
from core.services.errors import InvalidInput, NotFound
from core.services.mail import compose as compose_service
from core.services.mail import scheduled as service
from portal.auth.current import mail_connection, password

from .blueprint import bp

UNDO_KEY = "send_undo"  # the session's offer to take back the message just sent
MAX_ZONE = 64


@dataclass(frozen=True)
class Plan:
    """When a message from the compose form goes: at SEND_AT, or after its seconds of Undo."""

    send_at: datetime
    zone: str
    undo: bool


def plan(form) -> Plan | None:
    """The form's plan: a chosen time (Send later), Send with Undo, or None (send at once)."""
    zone = form.get("time_zone", "")[:MAX_ZONE] or "UTC"
    if form.get("action") == "later":
        return Plan(service.send_time(form.get("send_at", ""), zone), zone, undo=False)
    seconds = int(current_app.config["UNDO_SEND_SECONDS"])
    if seconds <= 0:
        return None
    return Plan(utcnow() + timedelta(seconds=seconds), zone, undo=True)


def schedule(client, draft, workspace, identity, when: Plan):
    """Keep the message for the worker and say so (with an Undo for a plain Send)."""
    row = service.schedule(db.session, client, draft, workspace, identity, current_app.config,
                           (current_user.address, password()), when.send_at, when.zone,
                           undo=when.undo)
    if when.undo:
        session[UNDO_KEY] = {"id": row.id, "at": time.time(), "to": row.envelope()}
        return redirect(url_for("webmail.index"))
    flash(_('The message will be sent %(time_zone)s.',
            time_zone=local_time(row.send_at, row.time_zone)), "info")
    return redirect(url_for("webmail.scheduled"))


@bp.app_template_filter("stored_text")
def stored_text(text: str) -> str:
    """A note the worker stored in English (core.i18n.N_), in the reader's language."""
    return gettext(text)


def local_time(at: datetime, zone_name: str) -> str:
    """AT in the person's zone, e.g. 'on Thu 24 Dec 2026 at 09:30 (Europe/Rome)'."""
    try:
        zone = service.time_zone(zone_name)
    except InvalidInput:
        zone, zone_name = service.time_zone("UTC"), "UTC"
    here = at.astimezone(zone)
    locale = get_locale()
    return _("on %(weekday)s %(day)s %(month)s %(year)s at %(time)s (%(zone)s)",
             weekday=format_date(here, "EEE", locale=locale), day=here.day,
             month=format_date(here, "MMM", locale=locale), year=here.year, time=f"{here:%H:%M}",
             zone=zone_name)


@bp.app_context_processor
def scheduled_values():
    """`scheduled_count()` for the sidebar and `send_undo()`, the Undo of the last Send."""
    def count() -> int:
        return service.count(db.session, current_user.address)

    def offer() -> dict | None:
        pending = session.pop(UNDO_KEY, None)
        seconds = int(current_app.config["UNDO_SEND_SECONDS"])
        if not pending or time.time() - pending.get("at", 0) > seconds:
            return None
        return {**pending, "seconds": max(1, round(seconds - (time.time() - pending["at"])))}
    return {"scheduled_count": count, "send_undo": offer}


@bp.route("/scheduled")
@login_required
def scheduled():
    """The person's scheduled messages: when, to whom, what went wrong; Edit and Cancel."""
    rows = service.waiting(db.session, current_user.address)
    return render_template("webmail/scheduled.html", rows=rows, local_time=local_time)


def _take_back(message_id: int) -> int | None:
    """Put the message back into Drafts and off the schedule; its draft UID (None: too late)."""
    try:
        with mail_connection() as client:
            return service.unschedule(db.session, client, current_user.address, message_id)
    except compose_service.AlreadySent as exc:
        flash(_('%(exc)s It can no longer be called back.', exc=exc), "error")
    except NotFound as exc:
        flash(str(exc), "error")
    return None


@bp.route("/scheduled/<int:message_id>/edit", methods=["POST"])
@login_required
def edit_scheduled(message_id: int):
    """Take the message off the schedule and open it in the compose form (also Undo)."""
    uid = _take_back(message_id)
    if uid is None:
        return redirect(url_for("webmail.scheduled"))
    return redirect(url_for("webmail.compose", draft=uid))


@bp.route("/scheduled/<int:message_id>/cancel", methods=["POST"])
@login_required
def cancel_scheduled(message_id: int):
    """Take the message off the schedule; it stays in Drafts."""
    if _take_back(message_id) is not None:
        flash(_("The message will not be sent; it is in Drafts."), "info")
    return redirect(url_for("webmail.scheduled"))
