"""Admin: every person's API tokens (a domain admin: their domains' people's), and revoking one."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.extensions import db
from core.models import ApiToken
from core.services.access import api_token_admin, api_tokens
from core.services.paging import page_number

from .access import admin_required, owns
from .blueprint import bp
from .common import actor, attempt


@bp.route("/api-tokens")
@admin_required
def api_token_list():
    """The tokens the caller may see, newest first, a page at a time."""
    found = api_token_admin.page(db.session, current_user.roles, page_number(request.args.get("page", "")))
    return render_template("admin/api_tokens.html", listed=found, state=api_tokens.state,
                           states=api_token_admin.STATES)


@bp.route("/api-tokens/<int:token_id>/revoke", methods=["POST"])
@owns("token")
def api_token_revoke(token: ApiToken):
    """Revoke a person's token: its next request is refused."""
    error = attempt(lambda: api_token_admin.revoke(db.session, actor(), token))[1]
    if error:
        flash(error, "error")
    else:
        flash(_("The token “%(name)s” of %(owner)s is revoked.", name=token.name, owner=token.address), "ok")
    return redirect(url_for(".api_token_list", page=request.args.get("page", "")))
