"""Bearer-token authentication of /api/v1, and the scope each operation needs.

The API never reads the cookie session: a browser sends its cookie by itself with any
request a foreign page makes it send, a bearer token it never does, so a request
without a token is refused (401) even from a signed-in browser, and the API needs no
CSRF token. The token's owner becomes flask-login's current_user for the request, so
the admin area's route decorators (portal/admin/access.py) decide here as on the pages.
Failed tokens count against the client like failed sign-ins.
"""
from __future__ import annotations

from functools import cached_property, wraps

from flask import abort, current_app, g, request
from flask_login import UserMixin

from core.extensions import db, limiter
from core.services.access import api_tokens, roles, twofactor
from core.services.directory import directory_users
from core.models import ApiToken
from portal.auth.limits import client_key

from .blueprint import bp

# Open without a token: the description of the API and its page.
PUBLIC = frozenset({"api.openapi", "api.docs"})


class ApiUser(UserMixin):
    """The owner of the bearer token of this request."""

    reader = None  # never reading another's mailbox (portal/auth/reading.py)

    def __init__(self, token: ApiToken, secret: str) -> None:
        self.id = f"api-token:{token.id}"
        self.address = token.address
        self.token = token
        self.secret = secret

    @cached_property
    def roles(self) -> roles.Roles:
        """The owner's admin roles now, or none when the token has no admin scope."""
        if not api_tokens.ADMIN_SCOPES & set(self.token.scopes.split()):
            return roles.Roles()
        return directory_users.roles_of(db.session, current_app.config, self.address)

    def mail_password(self) -> str:
        """The token's own credential for ManageSieve."""
        return api_tokens.mail_credential(self.token, self.secret)


def _bearer() -> str | None:
    kind, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if kind.lower() == "bearer" and secret.strip() else None


@bp.before_app_request
def authenticate():
    """Make the bearer token's owner the current user of an API request, or answer 401.

    An app-wide hook, registered before the other blueprints' (app.py), so that their
    hooks see the token's owner and never the cookie's.
    """
    if request.blueprint != "api" or request.endpoint in PUBLIC:
        return None
    secret = _bearer()
    if secret is None:
        abort(401, description="Send a token: Authorization: Bearer <token> "
                               "(Settings → API tokens).")
    try:
        token = api_tokens.authenticate(db.session, secret, request.remote_addr or "",
                                        current_app.config)
    except api_tokens.TokenRefused:
        g.api_token_refused = True
        abort(401, description="The token is not valid: it may be mistyped, revoked or expired.")
    if twofactor.required(db.session, token.address):  # as the pages: nothing until it is on
        abort(403, description="Your organisation requires two-factor sign-in: set it up under "
                               "Settings → Two-factor sign-in, then the token works again.")
    g._login_user = ApiUser(token, secret)  # flask-login's current_user for this request
    return None


def _refused_token(response) -> bool:
    return bool(g.get("api_token_refused"))


# Failed tokens count like failed sign-ins from the client (LOGIN_LIMIT_IP); past the
# limit the client is refused even with a good token until the minute is over.
limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_IP"], "api-token-guesses",
                     key_func=client_key, deduct_when=_refused_token)(bp)


def requires(family: str, write: bool):
    """Refuse (403) a request whose token lacks the scope FAMILY (or FAMILY:read when
    not WRITE) before the view's own checks run."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not api_tokens.allows(g._login_user.token.scopes, family, write):
                abort(403, description=f"The token lacks the scope {family}"
                                       f"{'' if write else ' or ' + family + ':read'}.")
            return view(*args, **kwargs)
        return wrapper
    return decorator
