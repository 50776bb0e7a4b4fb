"""Settings → Two-factor sign-in: set up with a QR code, recovery codes, turning it off,
and the app passwords mail programs use instead of the password once it is on.

A person of a domain that requires it is sent here after signing in, and can open
nothing else until it is on (require_two_factor below).
"""
from __future__ import annotations

import segno
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from core.extensions import db
from core.mail import imap
from core.mail.errors import AuthenticationFailed
from core.models import WebSession
from core.services.access import app_passwords, signin, twofactor
from core.services.errors import InvalidInput, NotFound, Refused
from core.services.mail import scheduled

from .auth.current import NOT_KICKED, VAULT_KEY, client_ip, end_mail_sessions, imap_settings
from .auth.limits import guess_limit
from .auth.reading import reading_note
from .blueprint import bp

# What a person whose domain requires two-factor sign-in may open before turning it on.
BEFORE_ENROLMENT = frozenset({"static", "favicon", "auth.logout", "portal.security_page",
                              "portal.security_enrol", "portal.security_confirm"})


@bp.before_app_request
def require_two_factor():
    """Send a person whose domain requires two-factor sign-in to set it up first."""
    if (not current_user.is_authenticated or reading_note() is not None
            or request.endpoint in BEFORE_ENROLMENT):
        return None
    if twofactor.required(db.session, current_user.address):
        flash("Your organisation requires two-factor sign-in: set it up to go on.", "info")
        return redirect(url_for("portal.security_page"))
    return None


def _own_address() -> str:
    return current_user.address


def _guessed_wrong(response) -> bool:
    # A wrong password or code is a guess at the sign-in; a mistyped name is not.
    return response.status_code == 401


def page(status: int = 200, **values):
    """The two-factor page with the person's state and VALUES (errors, a new app password)."""
    address = current_user.address
    values.setdefault("errors", {})
    return render_template(
        "portal/security.html", on=twofactor.is_on(db.session, address),
        required=twofactor.required(db.session, address),
        codes_left=twofactor.recovery_codes_left(db.session, address),
        app_passwords=app_passwords.listed(db.session, address), **values), status


@bp.route("/security")
@login_required
def security_page():
    """Whether two-factor sign-in is on, and the app passwords."""
    return page()


def _enrol_page(row, status: int = 200, error: str = ""):
    uri = twofactor.provisioning_uri(row)
    return render_template("portal/security_enrol.html", secret=row.secret, error=error,
                           qr_code=segno.make(uri, error="m").svg_data_uri(scale=4, border=2)), status


@bp.route("/security/enrol", methods=["POST"])
@login_required
def security_enrol():
    """A new secret: the QR code and the key to type, and a field for the first code."""
    try:
        row = twofactor.begin(db.session, current_user.address)
    except Refused as exc:
        flash(str(exc), "info")
        return redirect(url_for(".security_page"))
    return _enrol_page(row)


@bp.route("/security/confirm", methods=["POST"])
@login_required
def security_confirm():
    """Turn it on with the first code; show the recovery codes once."""
    address = current_user.address
    try:
        codes = twofactor.confirm(db.session, address, request.form.get("code", ""))
    except InvalidInput as exc:
        row = twofactor.settings_of(db.session, address)
        return _enrol_page(row, 422, str(exc))
    except Refused as exc:
        flash(str(exc), "error")
        return redirect(url_for(".security_page"))
    # From now on Dovecot refuses the password over ManageSieve and SMTP: this session
    # takes a credential of its own, the others (which hold the password) end.
    signin.seal_web_credential(db.session, db.session.get(WebSession, current_user.id), session[VAULT_KEY])
    ended = signin.end_sessions(db.session, address, keep=current_user.id)
    if not scheduled.with_own_credentials(db.session, current_app.config, address):
        flash(scheduled.NO_OWN_CREDENTIALS, "error")
    db.session.commit()
    if not end_mail_sessions(address):
        flash(NOT_KICKED, "error")
    return render_template("portal/security_codes.html", codes=codes, ended=len(ended))


def _check_password_and_code(errors: dict) -> bool:
    """Whether the form's password and code are right; ERRORS gets what is not."""
    address = current_user.address
    try:
        imap.close(imap.login(imap_settings(), address, request.form.get("password", ""), client_ip()))
    except AuthenticationFailed:
        errors["form"] = "The password is wrong: nothing was changed."
        return False
    if not twofactor.check_code(db.session, address, request.form.get("code", "")):
        errors["form"] = twofactor.WRONG_CODE
        return False
    return True


@bp.route("/security/disable", methods=["POST"])
@login_required
@guess_limit(_own_address, deduct_when=_guessed_wrong)
def security_disable():
    """Turn two-factor sign-in off: the password and a code first."""
    if twofactor.domain_requires(db.session, current_user.address):
        flash("Your organisation requires two-factor sign-in: it stays on.", "error")
        return redirect(url_for(".security_page"))
    errors: dict = {}
    if not _check_password_and_code(errors):
        return page(401, errors=errors)
    twofactor.turn_off(db.session, current_user.address)
    db.session.commit()
    flash("Two-factor sign-in is off. Mail programs can use your password again; "
          "your app passwords keep working until you revoke them.", "ok")
    return redirect(url_for(".security_page"))


@bp.route("/security/recovery-codes", methods=["POST"])
@login_required
@guess_limit(_own_address, deduct_when=_guessed_wrong)
def security_recovery_codes():
    """New recovery codes (the old ones stop working): the password and a code first."""
    errors: dict = {}
    if not _check_password_and_code(errors):
        return page(401, errors=errors)
    try:
        codes = twofactor.renew_recovery_codes(db.session, current_user.address)
    except Refused as exc:
        flash(str(exc), "error")
        return redirect(url_for(".security_page"))
    return render_template("portal/security_codes.html", codes=codes, ended=0)


@bp.route("/app-passwords", methods=["POST"])
@login_required
def app_password_create():
    """A new app password, shown once on the page."""
    name = request.form.get("name", "")
    try:
        created = app_passwords.create(db.session, current_user.address, name)
    except InvalidInput as exc:
        return page(422, errors={"name": str(exc)}, name=name)
    return page(new_password=created, new_name=" ".join(name.split()))


@bp.route("/app-passwords/<int:password_id>/revoke", methods=["POST"])
@login_required
def app_password_revoke(password_id: int):
    """Revoke an app password: refused from the next login on; open mail sessions end."""
    try:
        name = app_passwords.revoke(db.session, current_user.address, password_id)
    except NotFound as exc:
        flash(str(exc), "error")
        return redirect(url_for(".security_page"))
    flash(f"The app password “{name}” is revoked.", "ok")
    if not end_mail_sessions(current_user.address):
        flash(NOT_KICKED, "error")
    return redirect(url_for(".security_page"))
