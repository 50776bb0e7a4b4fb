"""Dovecot's auth policy server, in the worker: failed logins per client address.

Dovecot's own penalty slows an address that failed to log in, but the next success
from that address resets it, so a guesser with an account of their own could keep
guessing at everybody else's. Instead, Dovecot's auth process asks this server before
it checks a password (POST /?command=allow) and tells it every outcome (POST
/?command=report), for IMAP, POP3, ManageSieve and SMTP AUTH alike
(stack/templates/dovecot/conf.d/40-auth-policy.conf). Past LOGIN_LIMIT_IP failures
from a client network in the window the answer is {"status": -1}: refused, with the
right password too, until the oldest failure has left the window. A success takes
nothing off. The app's own address is exempt (its web sign-in has its own limits
and names the browser's address to Dovecot instead).

A successful master-user login (ADDRESS*root, Dovecot's report names master=root) is
handed to ON_MASTER_LOGIN after the answer, which writes it to the audit log with the
client's address. A successful login with an app password (Dovecot's report names
its row, app=ID, from the app-password passdb) is handed to ON_APP_LOGIN, which
records the time and client address shown beside it (Settings → Two-factor sign-in).

Only requests with the key (header X-API-Key) count. If this server does not answer,
Dovecot refuses every login (auth_policy_reject_on_fail): an attacker who stopped it
must not get unlimited guesses.
"""
from __future__ import annotations

import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional
from urllib.parse import parse_qs, urlsplit

from core.services.access.throttle import FailedLogins

log = logging.getLogger("mailroom.policy")
MAX_BODY = 16 * 1024  # Dovecot sends a few attributes
REFUSAL = "Too many failed logins from your address. Try again later."
# (ADDRESS, master user, protocol, client address) of one successful master login.
MasterLogin = Callable[[str, str, str, str], None]
# (app password id, client address) of one successful login with an app password.
AppLogin = Callable[[int, str], None]


class PolicyServer(ThreadingHTTPServer):
    """The HTTP server, with the key Dovecot presents and the failures it counts."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], key: str, logins: FailedLogins,
                 on_master_login: Optional[MasterLogin] = None,
                 on_app_login: Optional[AppLogin] = None) -> None:
        super().__init__(address, PolicyHandler)
        self.key = key.encode()
        self.logins = logins
        self.on_master_login = on_master_login
        self.on_app_login = on_app_login


class PolicyHandler(BaseHTTPRequestHandler):
    """One request of Dovecot's auth policy protocol."""

    server: PolicyServer
    timeout = 10  # seconds a silent connection is kept

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        """Answer allow with a status, and count a report."""
        if not hmac.compare_digest(self.headers.get("X-API-Key", "").encode(), self.server.key):
            self._answer(403, {})
            return
        request = self._request()
        command = parse_qs(urlsplit(self.path).query).get("command", [""])[0]
        if request is None or command not in ("allow", "report"):
            self._answer(400, {})
            return
        remote = str(request.get("remote", ""))
        if command == "report":
            self.server.logins.report(remote, request.get("success") is True,
                                      request.get("policy_reject") is True)
            self._answer(200, {})
            if request.get("success") is True:
                self._hand_on(request, remote)
        elif self.server.logins.allow(remote):
            self._answer(200, {"status": 0})
        else:
            log.info("refused a %s login from %s: too many failed logins",
                     str(request.get("protocol", "?"))[:20], remote[:64])
            self._answer(200, {"status": -1, "msg": REFUSAL})

    def _hand_on(self, request: dict, remote: str) -> None:
        """Hand a successful master or app-password login on (after the answer: Dovecot
        need not wait)."""
        master, app = str(request.get("master", "")), str(request.get("app", ""))
        try:
            if master and self.server.on_master_login:
                self.server.on_master_login(str(request.get("user", ""))[:320], master[:64],
                                            str(request.get("protocol", ""))[:20], remote[:64])
            if app.isdigit() and self.server.on_app_login:
                self.server.on_app_login(int(app), remote[:64])
        except Exception:  # noqa: BLE001 - a failed record must not end the policy server
            log.exception("could not record the login of %s from %s", request.get("user"), remote)

    def _request(self) -> dict | None:
        """The JSON object Dovecot sent, or None."""
        try:
            length = int(self.headers.get("Content-Length", ""))
            if not 0 < length <= MAX_BODY:
                return None
            request = json.loads(self.rfile.read(length))
        except ValueError:
            return None
        return request if isinstance(request, dict) else None

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
        """http.server's line per request goes to the debug log; refusals are logged above."""
        log.debug(format, *args)


def serve_in_thread(host: str, port: int, key: str, logins: FailedLogins,
                    on_master_login: Optional[MasterLogin] = None,
                    on_app_login: Optional[AppLogin] = None) -> Callable[[], None]:
    """Listen on HOST:PORT in a background thread; return a function that stops it."""
    server = PolicyServer((host, port), key, logins, on_master_login, on_app_login)
    threading.Thread(target=server.serve_forever, name="auth-policy", daemon=True).start()
    log.info("auth policy server listening on %s:%s", host, port)

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop
