"""Webmail pages."""
from __future__ import annotations

from flask import render_template
from flask_login import login_required

from core.mail import imap
from portal.auth.current import mail_connection

from . import bp


@bp.route("/")
@login_required
def index():
    """The first page after sign-in: the INBOX's counts and the quota."""
    with mail_connection() as client:
        counts = imap.folder_counts(client, "INBOX")
        quota = imap.quota(client)
    return render_template("webmail/index.html", counts=counts, quota=quota)
