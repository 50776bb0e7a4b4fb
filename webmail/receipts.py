"""Read receipts: the reader answers a message's request (send, not now, never for this sender)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.extensions import db
from core.mail.errors import MailError
from core.services.mail import receipts
from portal.auth.current import mail_connection, password

from .blueprint import bp
from .context import list_options

ANSWERS = ("send", "ignore", "never")


@bp.route("/mail/receipt", methods=["POST"])
@login_required
def receipt():
    """Send the read receipt the open message asks for, or decline it (once or for good)."""
    uid, answer = request.form.get("uid", type=int), request.form.get("answer", "")
    if uid is None or not 0 < uid < 2**32 or answer not in ANSWERS:
        abort(400)
    options = list_options()
    with mail_connection(options.folder) as client:
        if answer == "send":
            try:
                target = receipts.send_receipt(client, db.session, current_app.config,
                                               (current_user.address, password()),
                                               options.folder, uid)
                flash(_('Read receipt sent to %(target)s.', target=target), "info")
            except MailError as exc:
                flash(_('The read receipt could not be sent: %(exc)s', exc=exc), "error")
        else:
            receipts.decline(client, db.session, current_user.address, options.folder, uid,
                             never=answer == "never")
            flash(_("No read receipt was sent. You will not be asked again for this sender.")
                  if answer == "never" else _("No read receipt was sent."), "info")
    return redirect(options.url("webmail.message", uid=uid))
