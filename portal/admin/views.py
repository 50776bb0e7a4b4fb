"""Admin overview."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user

from core.extensions import db
from core.services import overview

from . import bp
from .access import admin_required


@bp.route("/")
@admin_required
def index():
    """Counts and the domains the caller administers."""
    summary = overview.directory_summary(db.session, current_user.roles)
    return render_template("admin/index.html", summary=summary, roles=current_user.roles)
