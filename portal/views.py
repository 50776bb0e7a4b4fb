"""Settings pages: the account overview."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required

from core.mail import imap
from core.passwords import RULES

from . import bp
from .auth.current import mail_connection


@bp.route("/")
@login_required
def index():
    """The account: address, storage used, admin roles."""
    with mail_connection() as client:
        quota = imap.quota(client)
    return render_template("portal/index.html", quota=quota, rules=RULES,
                           roles=current_user.roles)
