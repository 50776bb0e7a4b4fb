"""Error pages: plain words, a way back, never a stack trace."""
from __future__ import annotations

import logging

from flask import Blueprint, make_response, render_template, request, session
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError

from core.db import is_busy
from core.extensions import db
from core.i18n import lazy_gettext as _l
from core.mail.errors import (AuthenticationFailed, ImapError, LoginDelayed, NotFoundError,
                              ServiceUnavailable)
from core.services.access import signin, throttle
from core.vault import VaultError
from api.answers import http_error as api_error
from api.blueprint import bp as api_bp

bp = Blueprint("errors", __name__)
API_PREFIX = api_bp.url_prefix + "/"
log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    403: (_l("Not allowed"), _l("You do not have permission to open this page.")),
    404: (_l("Not found"), _l("There is nothing at this address.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    413: (_l("Too large"), _l("What you sent is larger than the server accepts.")),
    500: (_l("Something went wrong"), _l("The error has been logged. Please try again.")),
}


def _page(code: int, **extra):
    title, text = MESSAGES.get(code, MESSAGES[500])
    return render_template("errors/error.html", code=code, title=title, text=text, **extra), code


@bp.app_errorhandler(400)
@bp.app_errorhandler(403)
@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
@bp.app_errorhandler(413)
def http_error(error):
    """The standard pages for client errors (JSON under /api/, where no route matched)."""
    if request.path.startswith(API_PREFIX):
        return api_error(error)
    return _page(error.code)


@bp.app_errorhandler(CSRFError)
def csrf_error(error):
    """A form without a valid token: say so and offer a fresh form."""
    return render_template(
        "errors/error.html", code=400, title=_("Form expired"),
        text=_("The form was missing its security token or it has expired. "
               "Go back, reload the page and try again."),
    ), 400


@bp.app_errorhandler(429)
@bp.app_errorhandler(LoginDelayed)
@bp.app_errorhandler(throttle.AlreadySigningIn)
def too_many(error):
    """Too many attempts: the sign-in limits, a sign-in from this client under way, or
    Dovecot delaying this client's logins after failed ones."""
    if request.endpoint == "auth.login":
        return render_template(
            "auth/login.html", address=request.form.get("address", ""),
            error=_("Too many sign-in attempts. Wait a minute, then try again."),
        ), 429
    return render_template("errors/error.html", code=429, title=_("Slow down"),
                           text=_("Too many requests. Wait a minute, then try again.")), 429


@bp.app_errorhandler(throttle.ServerBusy)
def busy(error):
    """As many sign-ins as allowed are under way: come back in a moment."""
    response = make_response(render_template(
        "auth/login.html", address=request.form.get("address", ""),
        error=_("Many people are signing in right now. Try again in a moment.")), 503)
    response.headers["Retry-After"] = "2"
    return response


@bp.app_errorhandler(ServiceUnavailable)
def service_unavailable(error: ServiceUnavailable):
    """A daemon is down: name it and offer a retry."""
    log.warning("%s", error)
    return render_template(
        "errors/error.html", code=503, title=_("Mail server unreachable"),
        text=_("The %(service)s does not answer right now. Your data is safe; try again in a moment.",
               service=error.name),
        retry=request.url if request.method == "GET" else request.referrer,
    ), 503


@bp.app_errorhandler(NotFoundError)
def mail_not_found(error: NotFoundError):
    """An unknown folder or message: a 404 page with a way back."""
    return render_template("errors/error.html", code=404, title=_("Not found"),
                           text=str(error)), 404


@bp.app_errorhandler(ImapError)
def mail_refused(error: ImapError):
    """The mail server said no to what was asked: say what it answered."""
    log.info("IMAP refused: %s", error)
    return render_template("errors/error.html", code=422, title=_("The mail server refused"),
                           text=_("The mail server answered: %(answer)s", answer=error)), 422


@bp.app_errorhandler(VaultError)
@bp.app_errorhandler(AuthenticationFailed)
def signed_out(error):
    """The stored credential no longer works (password changed, access removed, or the
    cookie cannot open it): end this session so that signing in again works."""
    if current_user.is_authenticated:
        signin.sign_out(db.session, current_user.id)
    logout_user()
    session.clear()
    return render_template("errors/error.html", code=401, title=_("Please sign in again"),
                           text=_("Your session can no longer reach your mail: its password may "
                                  "have changed."), signin=True), 401


@bp.app_errorhandler(OperationalError)
def database_busy(error: OperationalError):
    """Another writer kept the database locked past the busy timeout: say so, nothing saved."""
    db.session.rollback()
    if not is_busy(error):
        raise error
    log.warning("database busy: %s", error.orig)
    return render_template(
        "errors/error.html", code=503, title=_("Database busy"),
        text=_("The database is busy with another change and could not take yours in time, "
               "so nothing was saved. Go back and try again in a moment."),
        retry=request.url if request.method == "GET" else request.referrer,
    ), 503, {"Retry-After": "5"}


@bp.app_errorhandler(500)
def server_error(error):
    """Anything unexpected: roll back, log, and say so plainly."""
    db.session.rollback()
    return _page(500)
