"""Admin: the spam filter (server admins): readiness in detail, the training queue,
the three thresholds and the Block From / Allow From / Allow To rules."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.extensions import db
from core.mail import rspamd
from core.mail.errors import MailError
from core.models.spam import filter_settings
from core.services.spam import learning, spam_filter
from core.services.errors import InvalidInput

from . import spam_ui  # noqa: F401  (spam_ui: Rspamd's own web interface, proxied)
from .blueprint import bp
from .access import server_admin_required
from .common import attempt, config

SETTING_FIELDS = ("greylist", "spam", "reject", "subject_prefix")


def _rspamd_details() -> tuple[dict, str]:
    """Rspamd's own /stat (version, scanned, actions taken), or the reason it is missing."""
    try:
        return rspamd.stat(rspamd.RspamdSettings.from_config(config())), ""
    except MailError as exc:
        return {}, str(exc)


def _page(error: str = "", status: int = 200, form: dict | None = None,
          rule_form: dict | None = None):
    """The whole page, keeping what the admin typed when a change was refused."""
    details, details_error = _rspamd_details()
    return render_template(
        "admin/spam.html", status=learning.status(config()), details=details,
        details_error=details_error, error=error,
        form=form or spam_filter.settings_texts(filter_settings(db.session)),
        rules=spam_filter.list_rules(db.session), labels=spam_filter.RULE_LABELS,
        rule_form=rule_form or {"kind": "", "value": ""},
    ), status


@bp.route("/spam")
@server_admin_required
def spam_index():
    """Readiness, queue, thresholds and rules on one page."""
    return _page()


@bp.route("/spam/settings", methods=["POST"])
@server_admin_required
def spam_thresholds():
    """Store the thresholds and the subject prefix, then make Rspamd use them."""
    form = {name: request.form.get(name, "") for name in SETTING_FIELDS}
    try:
        settings = spam_filter.parse_settings(**form)
    except InvalidInput as exc:
        return _page(error=str(exc), status=400, form=form)
    spam_filter.save_settings(db.session, settings, current_user.address)
    db.session.commit()
    try:
        spam_filter.apply_settings(config(), settings)
    except MailError as exc:
        flash(_('Saved, but Rspamd does not use the new thresholds yet: %(exc)s', exc=exc), "error")
    else:
        flash(_("Saved. Rspamd uses the new thresholds for the next message."), "ok")
    return redirect(url_for("admin.spam_index"))


@bp.route("/spam/rules", methods=["POST"])
@server_admin_required
def spam_rule_add():
    """Put an address or a whole domain on one of the three lists."""
    kind, value = request.form.get("kind", ""), request.form.get("value", "")
    rule, error = attempt(lambda: spam_filter.add_rule(db.session, kind, value, current_user.address))
    if error:
        return _page(error=error, status=400, rule_form={"kind": kind, "value": value})
    _publish(f"Added {rule.value} to {spam_filter.RULE_LABELS[rule.kind]}.")
    return redirect(url_for("admin.spam_index"))


@bp.route("/spam/rules/<int:rule_id>/delete", methods=["POST"])
@server_admin_required
def spam_rule_delete(rule_id: int):
    """Take one address or domain off its list."""
    rule, error = attempt(lambda: spam_filter.remove_rule(db.session, rule_id, current_user.address))
    if error:
        flash(error, "error")
        return redirect(url_for("admin.spam_index"))
    _publish(f"Removed {rule.value} from {spam_filter.RULE_LABELS[rule.kind]}.")
    return redirect(url_for("admin.spam_index"))


def _publish(done: str) -> None:
    """Write Rspamd's maps from the database and say whether that worked."""
    try:
        spam_filter.publish_rules(config())
    except MailError as exc:
        flash(_('%(done)s It is saved, but not in use yet: %(exc)s', done=done, exc=exc), "error")
        return
    flash(_('%(done)s It applies to the next message.', done=done), "ok")
