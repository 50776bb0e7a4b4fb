"""ClamAV's clamd, asked whether it answers (its PING command, clamd(8)).

Rspamd's antivirus module does the scanning; Mailroom only asks whether the scanner is
there: before antivirus is turned on, and for the admin dashboard. clamd listens on
loopback TCP in the local stack (MAILROOM_CLAMD_PORT) and on Debian's Unix socket on a
system install (MAILROOM_CLAMD_SOCKET).
"""
from __future__ import annotations

import socket
from dataclasses import dataclass

from core.i18n import N_

from .errors import ServiceUnavailable

SERVICE = N_("virus scanner (clamd)")
# The z-prefixed form: the command and its answer end in a NUL byte.
PING, PONG = b"zPING\0", b"PONG\0"


@dataclass(frozen=True)
class ClamdSettings:
    """Where clamd listens: a Unix socket path, or host and port."""

    socket_path: str
    host: str
    port: int
    timeout: float = 3.0

    @classmethod
    def from_config(cls, cfg: dict) -> "ClamdSettings":
        """Build from CLAMD_SOCKET, or LISTEN_ADDRESS and CLAMD_PORT."""
        return cls(str(cfg.get("CLAMD_SOCKET") or ""), str(cfg["LISTEN_ADDRESS"]), int(cfg["CLAMD_PORT"]))

    def where(self) -> str:
        """'127.0.0.1:13310' or '/run/clamav/clamd.ctl'."""
        return self.socket_path or f"{self.host}:{self.port}"


def ping(settings: ClamdSettings) -> None:
    """Return if clamd answers PING with PONG; ServiceUnavailable saying why otherwise."""
    try:
        if settings.socket_path:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(settings.timeout)
            conn.connect(settings.socket_path)
        else:
            conn = socket.create_connection((settings.host, settings.port), timeout=settings.timeout)
        with conn:
            conn.sendall(PING)
            answer = conn.recv(64)
    except OSError as exc:
        raise ServiceUnavailable(SERVICE, f"no answer on {settings.where()} ({exc.strerror or exc})") from exc
    if answer != PONG:
        raise ServiceUnavailable(SERVICE, f"{settings.where()} answered {answer!r} instead of PONG")
