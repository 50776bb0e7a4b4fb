"""Settings → API tokens: create one (shown once) with the scopes it needs, revoke one."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.extensions import db
from core.services.access import api_tokens
from core.services.errors import InvalidInput, NotFound

from .blueprint import bp


def _page(status: int = 200, **values):
    values.setdefault("errors", {})
    values.setdefault("chosen", ["personal:read"])
    return render_template(
        "portal/api_tokens.html", tokens=api_tokens.listed(db.session, current_user.address),
        scopes=api_tokens.SCOPES, admin_scopes=api_tokens.ADMIN_SCOPES,
        is_admin=current_user.roles.is_admin, state=api_tokens.state, **values), status


@bp.route("/api-tokens")
@login_required
def api_tokens_page():
    """The person's tokens (name, scopes, created, last use, expiry) and the form for a new one."""
    return _page()


@bp.route("/api-tokens", methods=["POST"])
@login_required
def api_token_create():
    """A new token, shown once on the page."""
    form = {"name": request.form.get("name", ""), "days": request.form.get("days", ""),
            "chosen": request.form.getlist("scopes")}
    try:
        created = api_tokens.create(db.session, current_user.address, form["name"], form["chosen"],
                                    form["days"], current_user.roles.is_admin, current_app.config)
    except InvalidInput as exc:
        db.session.rollback()
        return _page(422, errors={"form": str(exc)}, **form)
    return _page(new_token=created.secret, new_name=created.token.name)


@bp.route("/api-tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def api_token_revoke(token_id: int):
    """Revoke a token: its next request is refused."""
    try:
        name = api_tokens.revoke(db.session, current_user.address, token_id)
    except NotFound as exc:
        flash(str(exc), "error")
    else:
        flash(_("The token “%(name)s” is revoked.", name=name), "ok")
    return redirect(url_for(".api_tokens_page"))
