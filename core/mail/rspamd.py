"""Rspamd over HTTP: the controller (learn, stat, actions), the scanner, Bayes' counters.

The controller password goes in a `Password:` header on every request and never
anywhere else. Bayes keeps its learn counters in Redis (hash `RS`: `learns_spam`,
`learns_ham`); the controller's /stat refreshes its copy of them only every
half a minute or so, so readiness is read from Redis itself.
"""
from __future__ import annotations

import http.client
import json
import logging
import socket
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable

from core.i18n import N_

from .errors import ServiceUnavailable, SpamFilterError

log = logging.getLogger(__name__)
SERVICE = N_("Rspamd (spam filter)")
REDIS_SERVICE = N_("Redis (the spam filter's Bayes store)")
SPAM, HAM = "spam", "ham"
LEARNED, ALREADY, KNOWN, REFUSED = "learned", "already learned", "already known", "refused"
# Rspamd answers "208 <id> has been already learned as spam, ignore it".
ALREADY_STATUS = 208
# Once Bayes is active, Rspamd declines to learn what it already classifies with 95 %
# certainty: "204 all learn conditions denied learning spam in default classifier".
KNOWN_REASON = "learn conditions denied"
BAYES_HASH = "RS"


class LearnRefused(SpamFilterError):
    """Rspamd will not learn this message (too few words, say); retrying cannot help."""


@dataclass(frozen=True)
class RspamdSettings:
    """Where Rspamd's controller, scanner and Redis listen, and the controller password."""

    host: str
    controller_port: int
    normal_port: int
    password: str
    redis_host: str
    redis_port: int
    timeout: float = 10.0
    redis_password: str = ""

    @classmethod
    def from_config(cls, cfg: dict) -> "RspamdSettings":
        """Build from RSPAMD_*, REDIS_* and MAIL_TIMEOUT."""
        return cls(
            str(cfg["RSPAMD_HOST"]), int(cfg["RSPAMD_CONTROLLER_PORT"]),
            int(cfg["RSPAMD_NORMAL_PORT"]), str(cfg["RSPAMD_PASSWORD"]),
            str(cfg.get("REDIS_HOST") or cfg["RSPAMD_HOST"]), int(cfg["REDIS_PORT"]),
            float(cfg["MAIL_TIMEOUT"]), str(cfg.get("REDIS_PASSWORD") or ""),
        )


@dataclass(frozen=True)
class Response:
    """One HTTP answer, e.g. Response(200, 'OK', [('Content-Type', ...)], b'{...}')."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def json(self):
        """The body as JSON; SpamFilterError if it is not."""
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise SpamFilterError(f"Rspamd sent an answer that is not JSON: {exc}") from exc


@dataclass(frozen=True)
class CheckResult:
    """A scan, e.g. CheckResult('add header', 6.4, {'BAYES_SPAM': 5.1, ...})."""

    action: str
    score: float
    symbols: dict[str, float] = field(default_factory=dict)


def request(settings: RspamdSettings, method: str, path: str, body: bytes | None = None,
            headers: Iterable[tuple[str, str]] = (), port: int | None = None) -> Response:
    """Send one request with the password header; ServiceUnavailable if nobody answers."""
    conn = http.client.HTTPConnection(settings.host, port or settings.controller_port,
                                      timeout=settings.timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in [("Password", settings.password), *headers]:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body or b"")
        answer = conn.getresponse()
        data = answer.read()
    except (OSError, http.client.HTTPException) as exc:
        raise ServiceUnavailable(SERVICE, str(exc) or type(exc).__name__) from exc
    finally:
        conn.close()
    return Response(answer.status, answer.reason, answer.getheaders(), data)


def _checked(response: Response, what: str) -> Response:
    """RESPONSE if it is a success; otherwise the typed error for its status."""
    if response.status < 300:
        return response
    if response.status in (401, 403):
        raise SpamFilterError(f"Rspamd refused the controller password ({what})")
    if response.status >= 500:
        raise ServiceUnavailable(SERVICE, f"{what}: {response.status} {response.reason}")
    raise SpamFilterError(f"Rspamd refused {what}: {response.status} {response.reason}")


def learn(settings: RspamdSettings, kind: str, raw: bytes) -> str:
    """Teach Bayes that RAW is KIND ('spam'/'ham'); returns LEARNED, ALREADY or KNOWN.

    KNOWN: Bayes already rates RAW as KIND, so Rspamd sees nothing to learn.
    LearnRefused when Rspamd will never learn this message (e.g. too few tokens).
    """
    if kind not in (SPAM, HAM):
        raise ValueError(f"cannot learn {kind!r}")
    response = request(settings, "POST", f"/learn{kind}", raw)
    if response.status == ALREADY_STATUS:
        return ALREADY
    if response.status == 204 and KNOWN_REASON in response.reason:
        return KNOWN
    if response.status == 204 or response.status in (400, 404, 413, 415):
        raise LearnRefused(response.reason or f"HTTP {response.status}")
    _checked(response, f"learning {kind}")
    return LEARNED


def learn_many(settings: RspamdSettings, kind: str, messages: Iterable[bytes],
               workers: int = 8) -> Counter:
    """Learn MESSAGES as KIND over WORKERS parallel connections; count the outcomes."""
    def one(raw: bytes) -> str:
        try:
            return learn(settings, kind, raw)
        except LearnRefused:
            return REFUSED

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return Counter(pool.map(one, messages))


def stat(settings: RspamdSettings) -> dict:
    """The controller's /stat document (version, scanned, statfiles, ...)."""
    return _checked(request(settings, "GET", "/stat"), "the statistics").json()


def actions(settings: RspamdSettings) -> dict[str, float | None]:
    """The action thresholds Rspamd uses now, e.g. {'reject': 15.0, 'greylist': None, ...}."""
    rows = _checked(request(settings, "GET", "/actions"), "the actions").json()
    return {row["action"]: row.get("value") for row in rows}


def check(settings: RspamdSettings, raw: bytes, *, ip: str, sender: str,
          recipients: Iterable[str]) -> CheckResult:
    """Scan RAW on the normal worker as if it came from IP with this envelope."""
    headers = [("IP", ip), ("From", sender), *(("Rcpt", r) for r in recipients)]
    response = request(settings, "POST", "/checkv2", raw, headers, port=settings.normal_port)
    data = _checked(response, "the scan").json()
    symbols = {name: float(sym.get("score", 0.0)) for name, sym in data.get("symbols", {}).items()}
    return CheckResult(data.get("action", ""), float(data.get("score", 0.0)), symbols)


def forward(settings: RspamdSettings, method: str, path: str, body: bytes,
            content_type: str = "") -> Response:
    """Pass a request of Rspamd's own web interface to the controller, password added."""
    headers = [("Content-Type", content_type)] if content_type else []
    return request(settings, method, path, body, headers)


def bayes_counts(settings: RspamdSettings) -> tuple[int, int]:
    """(spam, ham) messages Bayes has learned, read from Redis, e.g. (212, 187)."""
    reply = _redis(settings, "HMGET", BAYES_HASH, "learns_spam", "learns_ham")
    if not isinstance(reply, list) or len(reply) != 2:
        raise SpamFilterError("Redis sent an unexpected answer for the Bayes counters")
    return tuple(int(value or 0) for value in reply)  # type: ignore[return-value]


def _resp(*args: str) -> bytes:
    """One command in RESP, the Redis protocol."""
    return (f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)).encode()


def _redis(settings: RspamdSettings, *args: str):
    """Send one command (after AUTH when a password is set) and read its reply."""
    auth = _resp("AUTH", settings.redis_password) if settings.redis_password else b""
    try:
        with socket.create_connection((settings.redis_host, settings.redis_port),
                                      timeout=settings.timeout) as sock:
            sock.sendall(auth + _resp(*args))
            with sock.makefile("rb") as reader:
                if auth:
                    _redis_reply(reader)  # +OK, or an error raised here
                return _redis_reply(reader)
    except OSError as exc:
        raise ServiceUnavailable(REDIS_SERVICE, str(exc)) from exc


def _redis_reply(reader):
    """One RESP reply: status, error, integer, bulk string or array."""
    line = reader.readline()
    if not line.endswith(b"\r\n"):
        raise ServiceUnavailable(REDIS_SERVICE, "the connection closed mid-answer")
    kind, rest = line[:1], line[1:-2]
    if kind == b"-":
        raise SpamFilterError(f"Redis: {rest.decode(errors='replace')}")
    if kind == b"+":
        return rest.decode()
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else reader.read(size + 2)[:-2]
    if kind == b"*":
        size = int(rest)
        return None if size < 0 else [_redis_reply(reader) for _ in range(size)]
    raise SpamFilterError("Redis sent an answer this client does not understand")
