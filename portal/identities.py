"""Identities: the addresses a person sends as, each with its name, Reply-To, Bcc and signature."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.extensions import db
from core.services.mail import identities

from .blueprint import bp
from .personal import _commit


def _page(chosen: str, form: dict | None = None, errors: dict | None = None, status: int = 200):
    choices = identities.identities(db.session, current_user.address)
    identity = next((i for i in choices if i.address == chosen), choices[0])
    if form is None:
        form = {"display_name": identity.name, "reply_to": identity.reply_to,
                "bcc": identity.bcc, "signature": identity.signature,
                "signature_markdown": identity.signature_markdown}
    prefs = identities.preferences(db.session, current_user.address)
    return render_template(
        "portal/identities.html", identities=choices, identity=identity, form=form,
        errors=errors or {}, default=choices[0].address,
        signature_above=prefs.signature_above_quote,
        not_offered=identities.not_offered(db.session, current_user.address)), status


@bp.route("/identities")
@login_required
def identities_page():
    """Every address the server lets the person send as, one of them open for editing."""
    return _page(request.args.get("identity", ""))


@bp.route("/identities/edit", methods=["POST"])
@login_required
def identity_save():
    """Save one identity's display name, Reply-To, automatic Bcc and signature."""
    sender = request.form.get("identity", "")
    outcome = _commit(lambda: identities.save_identity(db.session, current_user.address, sender,
                                                       request.form.to_dict()))
    if outcome.ok:
        flash(_('Saved the identity %(sender)s; new messages use it.', sender=sender), "ok")
        return redirect(url_for(".identities_page", identity=sender))
    return _page(sender, request.form.to_dict(), outcome.errors, outcome.status)


@bp.route("/identities/preferences", methods=["POST"])
@login_required
def identity_preferences():
    """Save the default identity and where the signature goes on replies."""
    default = request.form.get("default_sender", "")
    above = request.form.get("signature_position") == "above"
    outcome = _commit(lambda: identities.save_preferences(db.session, current_user.address,
                                                          default, above))
    if outcome.ok:
        flash(_("Saved: new messages start from the default identity."), "ok")
        return redirect(url_for(".identities_page"))
    return _page("", errors=outcome.errors, status=outcome.status)
