"""Delivery details: the mail log's record of a message the person sent (from Sent)."""
from __future__ import annotations

from flask import current_app, render_template
from flask_login import current_user, login_required
from flask_babel import gettext as _

from core.extensions import db
from core.mail import mime
from core.mail.errors import MailError
from core.services.errors import NotFound
from core.services.server import tracking

from .blueprint import bp
from .context import list_options
from .read import _raw


@bp.route("/mail/<int(min=1, max=4294967295):uid>/delivery")
@login_required
def delivery(uid: int):
    """Where the message went, if the person sent it: only their own messages are found."""
    folder = list_options().folder
    parsed = mime.parse_message(_raw(uid))
    found, missing, status = [], "", 200
    try:
        found = tracking.delivery_details(db.session, current_app.config, current_user.address,
                                          parsed.message_id)
    except NotFound as exc:
        missing, status = str(exc), 404
    except MailError as exc:
        missing, status = _('The mail log cannot be read now: %(exc)s', exc=exc), 503
    return render_template("webmail/delivery.html", uid=uid, folder=folder, parsed=parsed,
                           messages=found, missing=missing), status
