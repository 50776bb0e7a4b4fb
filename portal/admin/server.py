"""Admin → Server (server admins only): the mail server's own settings.

The section has a sub-navigation (templates/admin/_server_nav.html) built from
SERVER_PAGES: a later page of the section (the queue, a smarthost, DKIM, message
tracking) adds itself there, names its endpoints admin.server_* (so the main navigation
marks "Server") and extends admin/_server_layout.html.
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.extensions import db
from core.services.errors import ServiceError
from core.services.server import master_user, settings

from .access import server_admin_required
from .blueprint import bp
from .common import actor, config

# Each page of the Server section, in the order the sub-navigation shows them: its
# endpoint, label, and the endpoints (its form posts too) during which it is current.
SERVER_PAGES = [("admin.server_index", "Mail settings", ("admin.server_index", "admin.server_save")),
                ("admin.server_smarthost", "Smarthost", ("admin.server_smarthost", "admin.server_smarthost_save",
                                                         "admin.server_smarthost_clear")),
                ("admin.server_queue", "Queue", ("admin.server_queue", "admin.server_queue_message",
                                                 "admin.server_queue_delete_all")),
                ("admin.server_tracking", "Message tracking", ("admin.server_tracking",)),
                ("admin.server_attachments", "Attachments", ("admin.server_attachments",
                                                             "admin.server_attachments_save"))]
# Each form of the settings page and the settings it saves; a checkbox absent from a
# submitted form means "off".
SECTIONS = {
    "messages": ("message_size_mb", "queue_lifetime_days"),
    "bcc": ("always_bcc",),
    "access": ("relay_networks", "relay_trusted_networks", "auth_on_port_25"),
    "helo": ("helo_name",),
    "trash": ("deleted_to_trash",),
    "encryption": ("allow_unencrypted",),
    "antivirus": ("antivirus",),
    "master": ("master_user",),
}
SWITCHES = ("relay_trusted_networks", "auth_on_port_25", "deleted_to_trash", "allow_unencrypted",
            "antivirus", "master_user")


@bp.context_processor
def server_navigation():
    """The Server section's pages that exist in this app, for its sub-navigation."""
    return {"server_pages": [page for page in SERVER_PAGES if page[0] in current_app.view_functions]}


def _form(stored) -> dict[str, str]:
    """The stored settings as the forms show them."""
    values = stored.values()
    return {**{name: str(values[name]) for name in ("message_size_mb", "queue_lifetime_days",
                                                     "always_bcc", "helo_name")},
            "relay_networks": "\n".join(values["relay_networks"]),
            **{name: "on" if values[name] else "" for name in SWITCHES}}


def _page(form: dict | None = None, errors: dict | None = None, error: str = "", status: int = 200):
    cfg = config()
    return render_template("admin/server.html", form=form or _form(settings.current(db.session, cfg)),
                           errors=errors or {}, error=error, hostname=cfg["MAIL_HOSTNAME"],
                           default_size=settings.default_size_mb(cfg),
                           master_password_set=master_user.has_password(db.session)), status


@bp.route("/server")
@server_admin_required
def server_index():
    """Messages, always-Bcc, SMTP access and HELO name, one form each."""
    return _page()


@bp.route("/server/<section>", methods=["POST"])
@server_admin_required
def server_save(section: str):
    """Check, store and apply one form's settings; errors go next to their fields."""
    if section not in SECTIONS:
        abort(404)
    texts = {name: request.form.get(name, "") for name in SECTIONS[section]}
    try:
        outcome = settings.update(db.session, config(), texts, actor())
    except settings.InvalidSettings as exc:
        db.session.rollback()
        return _page({**_form(settings.current(db.session, config())), **texts}, exc.errors, status=400)
    except ServiceError as exc:
        db.session.rollback()
        return _page(error=str(exc), status=400)
    flash_outcome(outcome)
    return redirect(url_for("admin.server_index"))  # the message shows at the top


def save_form(page, texts: dict[str, str], save, endpoint: str):
    """Run SAVE() (a service's change of server settings) for a page of the section: the
    page again with the errors (PAGE(form, errors, error, status)), or say whether the
    change is live and go back to ENDPOINT."""
    try:
        outcome = save()
    except settings.InvalidSettings as exc:
        db.session.rollback()
        return page(texts, exc.errors, status=400)
    except ServiceError as exc:
        db.session.rollback()
        return page(texts, error=str(exc), status=400)
    flash_outcome(outcome)
    return redirect(url_for(endpoint))


def flash_outcome(outcome: settings.Outcome) -> None:
    """Say whether a saved change is live (the Server section's pages all do)."""
    if not outcome.changed:
        flash(_("Nothing changed."), "ok")
    elif outcome.pending:
        flash(_('Saved, but not live yet: %(pending)s. Starting the stack applies it.',
                pending=outcome.pending), "error")
    else:
        daemons = " and ".join(settings.reloaded(outcome.changed))
        flash(_('Saved — %(daemons)s reloaded in %(seconds)s s; the next message or sign-in obeys '
                'it.', daemons=daemons, seconds=f"{outcome.seconds:.1f}"), "ok")
