"""Changing the password: the rules are shown first, other sessions end afterwards."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from core.extensions import db, imap_pool, limiter
from core.passwords import RULES
from core.services.personal import password

from .blueprint import bp
from .auth.current import VAULT_KEY, client_ip, imap_settings
from .outcome import attempt


def _own_address() -> str:
    return f"password:{current_user.address}"


@bp.route("/password", methods=["GET", "POST"])
@login_required
# Guessing the current password here is guessing a login: the same limit applies.
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ADDRESS"], methods=["POST"],
               key_func=_own_address, deduct_when=lambda response: response.status_code == 422)
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
        return render_template("portal/password.html", rules=RULES,
                               errors=outcome.errors), outcome.status
    # Connections opened with the old password: the next request logs in anew.
    imap_pool.discard(current_user.address)
    flash("Your password was changed. Use the new one in your mail programs too"
          + (f"; {len(ended)} other sign-in{'s' if len(ended) != 1 else ''} ended." if ended
             else "."), "ok")
    return redirect(url_for(".password_page"))
