"""Admin: Rspamd's own web interface under /admin/rspamd/, for server admins only.

The app forwards each request to Rspamd's controller and adds the controller password
itself; the browser never sees it (whatever the interface's login box sends is
dropped). The interface is served from our origin, so two guards apply: its data
requests must come from its own scripts (jQuery marks them X-Requested-With, which a
page elsewhere cannot send across origins), and its page gets a strict policy that
allows only its own inline script, by hash.
"""
from __future__ import annotations

import base64
import hashlib
import re

from flask import Response, abort, jsonify, request, url_for

from core.extensions import csrf
from core.i18n import lazy_gettext as _l
from core.mail import rspamd

from .blueprint import bp
from .access import server_admin_required
from .common import config

# Files of the interface itself (the controller serves /usr/share/rspamd/www).
ASSET = re.compile(r"^(?:index\.html|(?:css|js|img|fonts)/[\w./-]+|[\w-]+\.(?:png|ico|xml|svg))?$")
# What a path segment may hold (RFC 3986 pchar, decoded): anything else (a space, a line
# break, a non-ASCII letter) cannot go into the request line to Rspamd as it stands.
PATH_TEXT = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@/-]*$")
QUERY_TEXT = re.compile(rb"^[\x21-\x7e]*$")
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)
PASSED_HEADERS = ("Content-Type", "Cache-Control", "Last-Modified", "ETag")
# The thresholds live in Mailroom's database and are rendered into Rspamd's config;
# Rspamd's own editor would override them behind the admin page's back.
MANAGED_HERE = {"saveactions": _l("Set the thresholds on Mailroom's Spam filter page (Admin, Spam filter).")}


@bp.route("/rspamd/", defaults={"path": ""}, methods=["GET", "POST"])
@bp.route("/rspamd/<path:path>", methods=["GET", "POST"])
@csrf.exempt  # the X-Requested-With check below stands in for the token
@server_admin_required
def rspamd_ui(path: str):
    """Forward one request of Rspamd's interface to its controller."""
    path = _normalised(path)
    scripted = request.headers.get("X-Requested-With") == "XMLHttpRequest"
    if not scripted and (request.method != "GET" or not ASSET.match(path)):
        abort(403)  # only a GET of the interface's own files needs no proof of origin
    # Rspamd looks its commands up without regard to case.
    if path.lower() in MANAGED_HERE:
        return jsonify(error=MANAGED_HERE[path.lower()]), 403
    origin = request.headers.get("Origin")
    if origin and origin.rstrip("/") != request.host_url.rstrip("/"):
        abort(403)
    # The app's MAX_CONTENT_LENGTH bounds what the Scan/Learn tab may upload.
    body = request.get_data(cache=False) if request.method == "POST" else b""
    target = "/" + path + (f"?{request.query_string.decode('latin-1')}" if request.query_string else "")
    answer = rspamd.forward(rspamd.RspamdSettings.from_config(config()), request.method, target,
                            body, request.headers.get("Content-Type", ""))
    response = Response(answer.body, status=answer.status)
    for name, value in answer.headers:
        if name.title() in PASSED_HEADERS:
            response.headers[name] = value
    page = answer.body if path in ("", "index.html") else b""
    response.headers["Content-Security-Policy"] = _policy(page)
    return response


def _normalised(path: str) -> str:
    """PATH as Rspamd reads it ('.' and empty segments gone), so the guards see that.

    Rspamd normalises a path before it looks the command up, so './saveactions' or
    'js/../saveactions' would reach the editor the guard refuses. A path that climbs
    ('..') is refused outright (404); one that cannot go into a request line, 400.
    """
    segments = path.split("/")
    if ".." in segments:
        abort(404)
    if not PATH_TEXT.match(path) or not QUERY_TEXT.match(request.query_string):
        abort(400)
    return "/".join(segment for segment in segments if segment not in ("", "."))


def _policy(page: bytes) -> str:
    """The interface's policy: only its own files, its inline script by hash, no popups.

    A script that slipped into the interface (its history shows text from mail) runs on
    Mailroom's origin, so the policy confines it to /admin/rspamd/: it can fetch, load
    and post nothing else, open no window and frame nothing. The sandbox keeps the
    origin (allow-same-origin): with an opaque origin Chromium sends the interface's own
    requests (its CSS and scripts too) without the SameSite session cookie, so nothing
    of it loads. Modal dialogs (confirm, alert) and downloads stay blocked.
    """
    here = url_for(".rspamd_ui", path="", _external=True)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'none'; script-src {here}js/ {hashes}; style-src {here} 'unsafe-inline'; "
        f"img-src {here} data:; font-src {here} data:; connect-src {here}; "
        f"form-action {here}; frame-src 'none'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; sandbox allow-scripts allow-forms allow-same-origin"
    )
