"""The API's JSON: the request body, one object or a page of them, and every error as
{"error": "...", "field": ...} with the service layer's own messages."""
from __future__ import annotations

import logging

from flask import abort, jsonify, request
from werkzeug.exceptions import HTTPException

from core.extensions import db
from core.mail.errors import AuthenticationFailed, MailError, ServiceUnavailable
from core.mail.sieve import ScriptRejected
from core.services.errors import AlreadyExists, NotFound, ServiceError
from core.services.paging import Page, page_number
from core.services.personal.filters import NeedsConfirmation
from core.services.server.settings import InvalidSettings
from core.vault import VaultError

from .blueprint import bp

log = logging.getLogger(__name__)
# Plain words for the HTTP errors the API gives without a message of its own.
MESSAGES = {
    400: "The request could not be understood.",
    401: "Send a token: Authorization: Bearer <token>.",
    403: "Your token or your role does not allow this.",
    404: "There is nothing at this address.",
    405: "This resource cannot be used with that method.",
    413: "What you sent is larger than the server accepts.",
    415: "Send the body as JSON (Content-Type: application/json).",
    429: "Too many failed tokens from your address. Wait a minute, then try again.",
    500: "Something went wrong. The error has been logged.",
}


def error(message: str, status: int, field: str | None = None, **extra):
    """The JSON error answer."""
    return jsonify(error=message, field=field, **extra), status


def payload() -> dict:
    """The request's JSON object (415 or 400 when it is not one)."""
    if not request.is_json:
        abort(415)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="The body must be a JSON object.")
    return body


def text(body: dict, name: str, default: object = "") -> str:
    """BODY[NAME] (DEFAULT when absent) as the text a form field would hold: true is 'on',
    null and false are empty; 400 for a list or an object."""
    value = body.get(name, default)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, (str, int, float)):
        return str(value)
    abort(400, description=f"{name} must be a string or a number.")


def flag(body: dict, name: str, default: bool) -> bool:
    """BODY[NAME] as a switch (400 when it is not true or false)."""
    value = body.get(name, default)
    if not isinstance(value, bool):
        abort(400, description=f"{name} must be true or false.")
    return value


def strings(body: dict, name: str) -> list[str]:
    """BODY[NAME] as a list of strings (400 otherwise)."""
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        abort(400, description=f"{name} must be a list of strings.")
    return value


def objects(body: dict, name: str) -> list[dict]:
    """BODY[NAME] as a list of JSON objects (400 otherwise)."""
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        abort(400, description=f"{name} must be a list of objects.")
    return value


def page_arg() -> int:
    """The `?page=` asked for (1 for anything else)."""
    return page_number(request.args.get("page", ""))


def listing(found: Page, shape) -> dict:
    """A page of results: items shaped by SHAPE, and where the page is in the whole."""
    return {"items": [shape(row) for row in found.rows], "page": found.page,
            "pages": found.pages, "per_page": found.per_page, "total": found.total}


def saved(change, shape=None, status: int = 200):
    """Run CHANGE (service calls) and commit; answer SHAPE(result), or 204 without SHAPE.
    A refusal reaches the error handlers below, which roll back (services flush but
    never commit, so nothing is half-written)."""
    result = change()
    db.session.commit()
    if shape is None:
        return "", 204
    return jsonify(shape(result)), status


@bp.errorhandler(InvalidSettings)
def invalid_settings(exc: InvalidSettings):
    """Server settings: the first field's message, and every field's."""
    field, message = next(iter(exc.errors.items()))
    return error(message, 422, field, errors=exc.errors)


@bp.errorhandler(ServiceError)
def refused(exc: ServiceError):
    """A refusal of the service layer: the page's message, the field when it has one."""
    db.session.rollback()
    if isinstance(exc, NeedsConfirmation):
        return error(str(exc), 409, "confirm")
    status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, AlreadyExists) else 422
    return error(str(exc), status, getattr(exc, "field", None))


@bp.errorhandler(ScriptRejected)
def script_rejected(exc: ScriptRejected):
    """The Sieve server refused a script: its message and line, as the raw editor shows."""
    where = f"Line {exc.line}: " if exc.line else ""
    return error(f"The server refused the script. {where}{exc.message}", 422, "text")


@bp.errorhandler(ServiceUnavailable)
def unavailable(exc: ServiceUnavailable):
    """A daemon is down: name it."""
    log.warning("%s", exc)
    return error(f"The {exc.service} does not answer right now, so nothing was done. "
                 "Try again in a moment.", 503)


@bp.errorhandler(AuthenticationFailed)
@bp.errorhandler(VaultError)
def mail_login_refused(exc: Exception):
    """The token's mail credential is refused (the mailbox lost access) or cannot be opened."""
    return error("The mail server refused this token's credential: create a new token.", 401)


@bp.errorhandler(MailError)
def mail_refused(exc: MailError):
    """The mail server said no: what it answered."""
    return error(f"The mail server answered: {exc}", 422)


def http_error(exc: HTTPException):
    """Every HTTP error of the API as JSON (the app's handlers answer with pages)."""
    if exc.code == 500:
        db.session.rollback()
    default = MESSAGES.get(exc.code or 500, MESSAGES[500])
    message = exc.description if exc.description and exc.description != type(exc).description else default
    response = error(message, exc.code or 500)
    if exc.code == 401:
        response[0].headers["WWW-Authenticate"] = 'Bearer realm="mailroom"'
    return response


# By code: the app's own handlers are registered per code, and Flask tries a code's
# handlers (blueprint, then app) before any handler of a class.
for _code in MESSAGES:
    bp.register_error_handler(_code, http_error)
