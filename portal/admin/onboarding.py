"""Blueprint "welcome": the one-time link a new mailbox's owner opens to choose a password.

It is not part of /admin: the person opening it is not signed in; the token in the
URL (256 random bits, stored only as a hash, valid once and for a week) is the key.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core import passwords
from core.extensions import db, limiter
from core.services.directory import links
from core.services.errors import NotFound, ServiceError

from ..auth.current import NOT_KICKED, end_mail_sessions

bp = Blueprint("welcome", __name__, url_prefix="/set-password")


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def set_password(token: str):
    """Show the form for the mailbox the token belongs to; on POST set the password."""
    try:
        mailbox = links.mailbox_for(db.session, token)
    except NotFound as exc:
        return render_template("admin/set_password.html", expired=str(exc)), 404
    if request.method == "GET":
        return render_template("admin/set_password.html", address=mailbox.address,
                               rules=passwords.RULES)
    password = request.form.get("password", "")
    error = None
    if password != request.form.get("password_again", ""):
        error = _("The two passwords differ: type the same one twice.")
    else:
        try:
            links.redeem(db.session, token, password)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            error = str(exc)
    if error:
        return render_template("admin/set_password.html", address=mailbox.address,
                               rules=passwords.RULES, error=error), 400
    # A reset link is how an account is taken back: sessions opened before must end.
    if not end_mail_sessions(mailbox.address):
        flash(NOT_KICKED, "error")
    flash(_("Your password is set. Sign in with it now."), "ok")
    return redirect(url_for("auth.login"))
