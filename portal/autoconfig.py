"""Public answers to mail programs setting up an account: Thunderbird's autoconfig and
Outlook's autodiscover, for addresses of the domains delivered here and no others."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request

from core.extensions import csrf, db
from core.mail import clientconfig
from core.services.errors import InvalidInput, NotFound
from core.services.personal import mailapps

bp = Blueprint("autoconfig", __name__)
# An Outlook request is a few hundred bytes; no more than this is read.
REQUEST_LIMIT = 8192


def _served(address: str):
    """ADDRESS normalised and its domain when delivered here, else 404 (a foreign or
    malformed address alike)."""
    try:
        return mailapps.served(db.session, address)
    except (InvalidInput, NotFound):
        abort(404)


def _xml(body: bytes) -> Response:
    response = Response(body, mimetype="text/xml")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/.well-known/autoconfig/mail/config-v1.1.xml")
@bp.route("/mail/config-v1.1.xml")
def thunderbird():
    """Thunderbird's config-v1.1.xml (?emailaddress=), served at both places it looks."""
    _, domain = _served(request.args.get("emailaddress", ""))
    # The address book only at a URL set for mail programs (MAILROOM_CARDDAV_URL): the
    # default is on loopback, as for the iPhone profile.
    return _xml(clientconfig.autoconfig(domain.name, domain.unicode_name,
                                        mailapps.servers(current_app.config), current_app.config["CARDDAV_URL"]))


@bp.route("/autodiscover/autodiscover.xml", methods=["GET", "POST"])
@bp.route("/Autodiscover/Autodiscover.xml", methods=["GET", "POST"])
@csrf.exempt  # a query from a mail program: it changes nothing and has no token to send
def outlook():
    """Outlook's autodiscover: the request's XML names the address (GET: ?emailaddress=)."""
    if request.method == "GET":
        address = request.args.get("emailaddress", "")
    else:
        body = request.stream.read(REQUEST_LIMIT + 1)
        if len(body) > REQUEST_LIMIT:
            abort(413)
        try:
            address = clientconfig.autodiscover_address(body)
        except ValueError:
            abort(400)
    address, _ = _served(address)
    return _xml(clientconfig.autodiscover(address, mailapps.servers(current_app.config)))
