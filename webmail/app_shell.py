"""The installable app: its manifest and service worker, at the root of the site.

Both are public: the browser fetches the manifest without cookies, and a service
worker's scope is the folder it is served from, so /sw.js controls the whole app.
"""
from __future__ import annotations

from flask import current_app, send_from_directory

from .blueprint import bp


@bp.route("/manifest.webmanifest")
def manifest():
    """The web app manifest (name, icons, start URL, standalone display)."""
    return send_from_directory(current_app.static_folder, "manifest.webmanifest",
                               mimetype="application/manifest+json", max_age=3600)


@bp.route("/sw.js")
def service_worker():
    """The service worker script; revalidated on every check so an update reaches browsers."""
    response = send_from_directory(current_app.static_folder, "js/sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response
