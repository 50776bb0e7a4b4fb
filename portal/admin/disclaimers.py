"""Admin: each domain's disclaimer, written in Markdown with a live preview."""
from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.extensions import db
from core.mail.disclaimer import MAX_MARKDOWN
from core.models import Domain
from core.services.directory import disclaimers
from core.services.errors import InvalidInput

from .blueprint import bp
from .access import admin_required, owns


@bp.route("/disclaimers")
@admin_required
def disclaimers_index():
    """Every domain the caller administers, with its disclaimer and whether it is on."""
    rows = disclaimers.list_disclaimers(db.session, current_user.roles)
    return render_template("admin/disclaimers.html", rows=rows)


@bp.route("/disclaimers/<name>", methods=["GET", "POST"])
@owns("domain")
def disclaimer_edit(domain: Domain):
    """Show the editor; on POST store the text and the on/off switch."""
    settings = disclaimers.get_disclaimer(db.session, domain.name)
    if request.method == "GET":
        return _editor(settings)
    enabled = request.form.get("enabled") == "on"
    markdown = request.form.get("markdown", "")
    try:
        disclaimers.set_disclaimer(db.session, settings.domain, enabled, markdown,
                                   actor=current_user.address)
    except InvalidInput as exc:
        db.session.rollback()
        return _editor(settings, enabled=enabled, markdown=markdown, error=str(exc)), 400
    db.session.commit()
    state = _("added to") if enabled else _("no longer added to")
    flash(_('Saved. The disclaimer is %(state)s the next message sent from %(unicode_name)s.',
            state=state, unicode_name=settings.unicode_name), "ok")
    return redirect(url_for("admin.disclaimer_edit", name=settings.domain))


def _editor(settings: disclaimers.DisclaimerSettings, *, enabled: bool | None = None,
            markdown: str | None = None, error: str = ""):
    """The edit page, keeping what the person typed when it was refused."""
    if markdown is None:
        preview_html = settings.html
    else:
        try:
            preview_html = disclaimers.preview(markdown)
        except InvalidInput:
            preview_html = ""
    return render_template(
        "admin/disclaimer_edit.html", settings=settings, error=error,
        enabled=settings.enabled if enabled is None else enabled,
        markdown=settings.markdown if markdown is None else markdown,
        preview_html=preview_html, max_length=MAX_MARKDOWN,
    )


@bp.route("/disclaimers/preview", methods=["POST"])
@admin_required
def disclaimer_preview():
    """The sanitised HTML for the posted Markdown, as JSON (the editor's live preview)."""
    try:
        return jsonify(html=disclaimers.preview(request.form.get("markdown", "")))
    except InvalidInput as exc:
        return jsonify(error=str(exc)), 400
