"""Settings home (a summary of every section) and the storage page."""
from __future__ import annotations

from flask import current_app, render_template
from flask_login import current_user, login_required
from flask_babel import gettext as _

from core.extensions import db
from core.mail.errors import ServiceUnavailable
from core.services.personal import filters, forwarding, junk, storage, vacation
from core.services.errors import NotFound

from .blueprint import bp
from .auth.current import mail_connection
from .stores import sieve_store


def _sieve_summary() -> dict:
    """Rules and vacation at a glance; a ManageSieve outage only greys this card out."""
    try:
        with sieve_store() as store:
            state = filters.load(store)
    except ServiceUnavailable as exc:
        return {"unavailable": exc.name}
    rules = state.ruleset.rules if state.ruleset else []
    return {"state": state, "rules": len(rules), "on": sum(r.enabled for r in rules),
            "vacation": vacation.current(state)}


@bp.errorhandler(NotFound)
def not_managed(error: NotFound):
    """A person with no mailbox row (Mailroom fronting a server it does not manage)."""
    return render_template("errors/error.html", code=404, title=_("Not managed here"),
                           text=_('%(error)s These settings are kept by your mail provider.',
                                  error=error)), 404


@bp.route("/")
@login_required
def index():
    """Every settings section with its current state, and the storage used."""
    with mail_connection() as client:
        usage = storage.storage(client)
    return render_template(
        "portal/index.html", usage=usage, roles=current_user.roles, sieve=_sieve_summary(),
        forward=forwarding.get_forwarding(db.session, current_user.address, current_app.config),
        spam=junk.get_junk(db.session, current_user.address, current_app.config),
    )


@bp.route("/storage")
@login_required
def storage_page():
    """The quota as bars with figures, and how much each folder takes."""
    with mail_connection() as client:
        usage = storage.storage(client)
    return render_template("portal/storage.html", usage=usage, warn=storage.WARN_PERCENT)
