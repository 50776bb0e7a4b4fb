"""HTTPS and reverse proxies: whose X-Forwarded-* to believe, Secure cookies, HSTS."""
from __future__ import annotations

import ipaddress
import logging

from flask import Flask, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)
FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
             "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")


def networks(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """'127.0.0.1, 10.0.0.0/8' as networks; ValueError names a bad entry."""
    found = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"MAILROOM_TRUSTED_PROXIES: {item!r} is not an address or network") from exc
    return found


class TrustedProxies:
    """WSGI middleware: X-Forwarded-* count only when the peer is a trusted proxy.

    From any other peer they are removed, so nobody can claim another client
    address (sign-in limits key on it) or pretend the request came over HTTPS.
    """

    def __init__(self, app, hops: int, trusted: list) -> None:
        self.app = app
        self.trusted = trusted
        self.fixed = ProxyFix(app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)

    def __call__(self, environ, start_response):
        if self._is_trusted(environ.get("REMOTE_ADDR", "")):
            return self.fixed(environ, start_response)
        for key in FORWARDED:
            environ.pop(key, None)
        return self.app(environ, start_response)

    def _is_trusted(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.trusted)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]
                    or (has_request_context() and request.is_secure))


def _hsts(response):
    """Browsers that reached us over HTTPS keep to HTTPS (RFC 6797), when configured."""
    seconds = int(current_app.config["HSTS_SECONDS"])
    if seconds and request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={seconds}; includeSubDomains")
    return response


def init_app(app: Flask) -> None:
    """Install the proxy middleware (MAILROOM_PROXY_FIX hops), Secure cookies and HSTS."""
    hops = int(app.config["PROXY_FIX"])
    if hops:
        app.wsgi_app = TrustedProxies(app.wsgi_app, hops, networks(app.config["TRUSTED_PROXIES"]))
    app.session_interface = SessionInterface()
    app.after_request(_hsts)
