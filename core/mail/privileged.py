"""The one door to privileged work: typed requests to the stack's privileged helper.

The web app runs unprivileged. What needs root (Dovecot's admin socket, sieve-test as
the mail user, reloading Rspamd, the files Rspamd reads) is asked of the helper that
runs inside the stack's worker (stack/privileged.py), over a Unix socket that only
root and the app's group may open: one JSON request per connection, e.g.

>>> call("/srv/mailroom/stack/run/mailroom/privileged.sock", "quota", {"address": "ann@example.test"})
[['User quota', 'STORAGE', '12', '1048576', '1'], ...]

The helper checks every argument against the database and refuses anything else;
a refusal arrives here as Refused with the helper's reason.
"""
from __future__ import annotations

import json
import socket
from pathlib import Path

from core.i18n import N_

from .errors import MailError, ServiceUnavailable

SERVICE = N_("privileged helper (the stack's worker)")
MAX_ANSWER = 16 * 1024 * 1024


class Refused(MailError):
    """The helper would not carry out a request; the message says why."""


def call(path: str | Path, op: str, args: dict, timeout: float = 60.0):
    """Ask the helper at PATH to run OP with ARGS; return its result."""
    request = json.dumps({"op": op, "args": args}).encode() + b"\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
            answer = _read_all(sock)
    except OSError as exc:
        raise ServiceUnavailable(SERVICE, str(exc)) from exc
    try:
        reply = json.loads(answer)
    except ValueError as exc:
        raise ServiceUnavailable(SERVICE, "it answered something that is not JSON") from exc
    if reply.get("unavailable"):
        raise ServiceUnavailable(str(reply["unavailable"]), str(reply.get("error") or ""))
    if not reply.get("ok"):
        raise Refused(str(reply.get("error") or "refused"))
    return reply.get("result")


def _read_all(sock: socket.socket) -> bytes:
    chunks, size = [], 0
    while chunk := sock.recv(65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_ANSWER:
            raise OSError("the answer is too large")
    return b"".join(chunks)
