"""Changing the password: the rules are shown first, other sessions end afterwards."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from flask_babel import gettext as _, ngettext

from core.extensions import db
from core.passwords import RULES
from core.services.mail import scheduled
from core.services.personal import password

from .blueprint import bp
from .directory_account import password_kept_in_directory
from .auth.current import NOT_KICKED, VAULT_KEY, client_ip, end_mail_sessions, imap_settings
from .auth.limits import guess_limit
from .outcome import attempt


def _own_address() -> str:
    return current_user.address


def _guessed_wrong(response) -> bool:
    # Only a wrong current password is a guess; a mistyped new one must not lock the sign-in.
    return response.status_code == 422 and g.get("wrong_current_password", False)


@bp.route("/password", methods=["GET", "POST"])
@login_required
@password_kept_in_directory
@guess_limit(_own_address, deduct_when=_guessed_wrong)
def password_page():
    """Current password, new password twice; IMAP and SMTP take the new one at once."""
    if request.method == "GET":
        return render_template("portal/password.html", rules=RULES, errors={})
    form = request.form
    ended: list[str] = []

    def work():
        ended.extend(password.change_password(
            db.session, imap_settings(), current_user.address, form.get("current", ""),
            form.get("new", ""), form.get("repeat", ""), current_user.id, session[VAULT_KEY],
            client_ip()))

    outcome = attempt(work)
    if not outcome.ok:
        db.session.rollback()
        g.wrong_current_password = "current" in outcome.errors
        return render_template("portal/password.html", rules=RULES,
                               errors=outcome.errors), outcome.status
    kicked = end_mail_sessions(current_user.address)
    if not scheduled.reseal(db.session, current_app.config, current_user.address, form["new"]):
        flash(scheduled.NOT_RESEALED, "error")
    flash(ngettext("Your password was changed. Use the new one in your mail programs too; %(num)s other "
                   "sign-in ended.", "Your password was changed. Use the new one in your mail programs too; "
                   "%(num)s other sign-ins ended.", len(ended)) if ended
          else _("Your password was changed. Use the new one in your mail programs too."), "ok")
    if not kicked:
        flash(NOT_KICKED, "error")
    return redirect(url_for(".password_page"))
