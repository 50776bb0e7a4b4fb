"""Notifications: whether the webmail tells the person about new INBOX mail."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.extensions import db
from core.services.mail import identities

from .blueprint import bp


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications_page():
    """Turn new-mail notifications on or off; the browser's permission is asked on the page."""
    if request.method == "POST":
        on = request.form.get("notifications") == "on"
        identities.save_notifications(db.session, current_user.address, on)
        db.session.commit()
        flash(_("New-mail notifications are on.") if on else _("New-mail notifications are off."), "ok")
        return redirect(url_for(".notifications_page"))
    prefs = identities.preferences(db.session, current_user.address)
    return render_template("portal/notifications.html", on=prefs.notifications)
