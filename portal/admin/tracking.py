"""Admin → Server → Message tracking (server admins): any message's path, from the mail log."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import render_template, request
from flask_babel import gettext as _

from core.mail.errors import MailError
from core.services.errors import ServiceError
from core.services.server import tracking

from .access import server_admin_required
from .blueprint import bp
from .common import config

RECENT = timedelta(days=1)  # what an empty search shows


@bp.route("/server/tracking")
@server_admin_required
def server_tracking():
    """Search the log by queue id, Message-ID, sender or recipient from a time on."""
    query, since_text = request.args.get("q", "").strip(), request.args.get("since", "").strip()
    messages, error, invalid, status = [], "", "", 200
    try:
        since = tracking.parse_since(since_text)
        if since is None and not query:
            since = (datetime.now() - RECENT).replace(second=0, microsecond=0)
            since_text = since.isoformat(timespec="minutes")
        messages = tracking.track(config(), query, since)
    except ServiceError as exc:
        invalid, status = str(exc), 400
    except MailError as exc:
        error, status = _('The mail log cannot be read now: %(exc)s', exc=exc), 503
    return render_template("admin/tracking.html", query=query, since=since_text, messages=messages,
                           error=error, invalid=invalid, limit=tracking.LIMIT), status
