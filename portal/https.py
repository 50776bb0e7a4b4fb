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


def loopback_host(host: str) -> bool:
    """Whether HOST (a Host header: name or address, perhaps a port) is this machine.

    >>> loopback_host("127.0.0.1:8000"), loopback_host("[::1]"), loopback_host("mail.example.org")
    (True, True, False)
    """
    if host.startswith("["):  # an IPv6 address (RFC 3986 3.2.2)
        name = host[1:].partition("]")[0]
    else:
        name = host.partition(":")[0]
    name = name.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def cookie_lost() -> bool:
    """Whether this request came by name over plain HTTP: its Secure cookie never returns."""
    return not request.is_secure and not loopback_host(request.host)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, marked Secure unless the request came over plain
    HTTP to this machine itself: a session cookie must not cross a network in clear text."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config["SESSION_COOKIE_SECURE"]:
            return True
        return has_request_context() and (request.is_secure or not loopback_host(request.host))


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
    app.jinja_env.globals["cookie_lost"] = cookie_lost
    app.after_request(_hsts)
