"""Sign-in and sign-out pages; the code of two-factor sign-in after the password."""
from __future__ import annotations

import time

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from core.extensions import db, imap_pool
from core.mail.errors import AuthenticationFailed
from core.services.access import signin
from core.services.mail import uploads

from ..navigation import local_path
from .blueprint import bp
from .current import VAULT_KEY, User, client_ip, imap_settings
from .limits import sign_in_limits, sign_in_slot
from .reading import reading_note


# The cookie's note between the password and the code: {"address", "until", "next"}.
PENDING_KEY = "second_factor"
# How long the code may be typed after the password passed.
PENDING_SECONDS = 300


def _typed_address() -> str:
    return request.form.get("address", "")


def _pending() -> dict | None:
    """The sign-in waiting for its code, if it has not expired."""
    note = session.get(PENDING_KEY)
    if isinstance(note, dict) and float(note.get("until", 0)) > time.time():
        return note
    return None


def _pending_address() -> str:
    note = _pending()
    return note["address"] if note else ""


def _failed(response) -> bool:
    # Only failed attempts count against the limits: a refused password or code (401) or
    # one Dovecot held back (429). A server that is busy or down (503) checked no password.
    return response.status_code in (401, 429)


@bp.route("/login", methods=["GET", "POST"])
@sign_in_limits(_typed_address, deduct_when=_failed)
def login():
    """Show the sign-in form; on POST check the password with the IMAP server."""
    if current_user.is_authenticated:
        return redirect(url_for("webmail.index"))
    if request.method == "GET":
        return render_template("auth/login.html", next=request.args.get("next", ""))
    address = request.form.get("address", "")
    try:
        # The limits above decided first; a sign-in that reaches Dovecot holds a thread
        # for at most the slot's wait (errors.py answers the refusals).
        with sign_in_slot() as wait:
            result = signin.sign_in(db.session, imap_settings(), address,
                                    request.form.get("password", ""), client_ip(), wait)
    except AuthenticationFailed as exc:
        return render_template("auth/login.html", error=str(exc), address=address,
                               next=request.form.get("next", "")), 401
    if isinstance(result, signin.CodeNeeded):
        session.clear()
        session[PENDING_KEY] = {"address": result.address, "until": time.time() + PENDING_SECONDS,
                                "next": request.form.get("next", "")}
        return redirect(url_for("auth.login_code"))
    return _signed_in(result, request.form.get("next"))


@bp.route("/login/code", methods=["GET", "POST"])
@sign_in_limits(_pending_address, deduct_when=_failed)
def login_code():
    """The second step of two-factor sign-in: a code from the app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("webmail.index"))
    note = _pending()
    if note is None:  # none begun, or begun too long ago: the password first
        session.pop(PENDING_KEY, None)
        return render_template("auth/login.html", next="",
                               error=_("Sign in with your password first: the time for the code ran out.")
                               ), 401 if request.method == "POST" else 200
    if request.method == "GET":
        return render_template("auth/login_code.html")
    try:
        with sign_in_slot() as wait:  # as the password's step: Dovecot may hold back the LOGIN
            result = signin.finish_with_code(db.session, imap_settings(), note["address"],
                                             request.form.get("code", ""), client_ip(), wait)
    except AuthenticationFailed as exc:
        return render_template("auth/login_code.html", error=str(exc)), 401
    return _signed_in(result, note.get("next"))


def _signed_in(result: signin.SignedIn, target: str | None):
    """Start the browser's session of RESULT and go on to TARGET (a local path) or the mail."""
    signin.purge_expired(db.session, *signin.lifetimes(current_app.config))
    session.clear()  # a fresh cookie: no fixation of an earlier session
    session.permanent = True
    session[VAULT_KEY] = result.key
    login_user(User(result.session_id, result.address))
    imap_pool.put(result.address, result.client)
    return redirect(local_path(target, url_for("webmail.index")))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session (POST with a CSRF token only), and the admin's own behind a
    mailbox the admin was reading."""
    note = reading_note()
    if note:
        signin.sign_out(db.session, str(note.get("session", "")))
    signin.sign_out(db.session, current_user.id)
    imap_pool.discard(current_user.login)
    uploads.discard_session(current_app.config["DATA_DIR"], current_user.id)
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))
