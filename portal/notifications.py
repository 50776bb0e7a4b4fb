"""Notifications: whether the webmail tells the person about new mail, and in which folders
besides the INBOX."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.extensions import db
from core.mail import folders as imap_folders
from core.services.mail import identities
from core.services.personal.validation import InvalidField

from .auth.current import mail_connection
from .blueprint import bp


def _folders() -> list[imap_folders.Folder]:
    """The folders that can be chosen: every selectable one, shared ones too, but the INBOX and
    those that only get mail the person moves or writes (Drafts, Sent, Trash)."""
    with mail_connection() as client:
        tree = imap_folders.list_folders(client, counts=False)
    return [f for f in tree if f.selectable and f.kind not in ("inbox", "drafts", "sent", "trash")]


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications_page():
    """Turn new-mail notifications on or off and choose folders; the browser's permission
    is asked on the page."""
    address = current_user.address
    chosen = identities.notification_folders(db.session, address)
    errors: dict = {}
    if request.method == "POST":
        on = request.form.get("notifications") == "on"
        chosen = request.form.getlist("folders")
        try:
            identities.save_notifications(db.session, address, on, chosen)
        except InvalidField as exc:
            errors[exc.field] = str(exc)
        else:
            db.session.commit()
            flash(_("New-mail notifications are on.") if on else _("New-mail notifications are off."), "ok")
            return redirect(url_for(".notifications_page"))
    prefs = identities.preferences(db.session, address)
    on = prefs.notifications if request.method == "GET" else request.form.get("notifications") == "on"
    return render_template("portal/notifications.html", on=on, folders=_folders(),
                           chosen=set(chosen), errors=errors), 422 if errors else 200
