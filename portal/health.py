"""GET /healthz: whether the database, IMAP and submission answer (no secrets, no user data)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from core.extensions import db, limiter
from core.services.server import health

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@limiter.exempt
def healthz():
    """200 when every part answers, else 503; the body names each part's state."""
    parts = health.check(db.session, current_app.config)
    body = {name: "ok" if up else "down" for name, up in parts.items()}
    response = jsonify(status="ok" if all(parts.values()) else "down", **body)
    response.status_code = 200 if all(parts.values()) else 503
    response.headers["Cache-Control"] = "no-store"
    return response
