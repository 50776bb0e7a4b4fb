"""Admin → Server → Attachments (server admins only): attachments Rspamd refuses by content.

The three settings are server settings like the others (core/services/server/settings.py):
checked, stored, audited, and applied by the privileged helper, which reloads Rspamd.
"""
from __future__ import annotations

from flask import render_template, request

from core.extensions import db
from core.services.server import settings
from core.services.server.settings_input import attachment_classes

from .access import server_admin_required
from .blueprint import bp
from .common import actor, config
from .server import save_form

FIELDS = ("block_executables", "block_archives", "block_types")


def _form(stored) -> dict[str, str]:
    """The stored settings as the form shows them."""
    return {"block_executables": "on" if stored.block_executables else "",
            "block_archives": "on" if stored.block_archives else "",
            "block_types": ", ".join(stored.types())}


def _page(form: dict | None = None, errors: dict | None = None, error: str = "", status: int = 200):
    return render_template("admin/attachments.html",
                           form=form or _form(settings.current(db.session, config())),
                           errors=errors or {}, error=error, **attachment_classes()), status


@bp.route("/server/attachments")
@server_admin_required
def server_attachments():
    """The two classes and the chosen types that Rspamd refuses."""
    return _page()


@bp.route("/server/attachments", methods=["POST"])
@server_admin_required
def server_attachments_save():
    """Check, store and apply the attachment rules; errors go next to their fields."""
    texts = {name: request.form.get(name, "") for name in FIELDS}
    return save_form(_page, texts, lambda: settings.update(db.session, config(), texts, actor()),
                     "admin.server_attachments")
