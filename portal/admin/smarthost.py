"""Admin → Server → Smarthost (server admins only): the host all mail for other domains goes through.

The password field is write-only: the page says whether a password is set, never shows
it, and an empty field keeps it (core/services/server/smarthost.py).
"""
from __future__ import annotations

from flask import redirect, render_template, request, url_for

from core.extensions import db
from core.services.errors import ServiceError
from core.services.server import smarthost

from .access import server_admin_required
from .blueprint import bp
from .common import actor, config
from .server import flash_outcome, save_form

FIELDS = ("smarthost_host", "smarthost_port", "smarthost_tls", "smarthost_username")


def _form(shown: smarthost.Smarthost) -> dict[str, str]:
    """The stored smarthost as the form shows it."""
    return {"smarthost_host": shown.host, "smarthost_port": str(shown.port),
            "smarthost_tls": shown.tls, "smarthost_username": shown.username}


def _page(form: dict | None = None, errors: dict | None = None, error: str = "", status: int = 200):
    shown = smarthost.current(db.session, config())
    return render_template("admin/smarthost.html", shown=shown, form=form or _form(shown),
                           errors=errors or {}, error=error, tls_labels=smarthost.TLS_LABELS), status


@bp.route("/server/smarthost")
@server_admin_required
def server_smarthost():
    """The smarthost's host, port, TLS mode and sign-in."""
    return _page()


@bp.route("/server/smarthost", methods=["POST"])
@server_admin_required
def server_smarthost_save():
    """Check, store and apply the smarthost; errors go next to their fields."""
    texts = {name: request.form.get(name, "") for name in FIELDS}
    password = request.form.get("smarthost_password", "") or None
    return save_form(_page, texts, lambda: smarthost.save(db.session, config(), actor(), texts, password,
                                                          sign_out=bool(request.form.get("sign_out"))),
                     "admin.server_smarthost")


@bp.route("/server/smarthost/clear", methods=["POST"])
@server_admin_required
def server_smarthost_clear():
    """Stop using the smarthost (its user name and password go too)."""
    try:
        outcome = smarthost.clear(db.session, config(), actor())
    except ServiceError as exc:
        db.session.rollback()
        return _page(error=str(exc), status=400)
    flash_outcome(outcome)
    return redirect(url_for("admin.server_smarthost"))
