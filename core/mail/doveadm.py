"""Dovecot's admin commands over its doveadm-server socket (no process, no argv).

The socket (BASE_DIR/doveadm-server, mode 0600) needs no password: Dovecot treats a
0600 Unix socket as pre-authenticated. One line per command, fields tab-escaped:
``FLAGS TAB USER TAB COMMAND ARGS...``; the answer is the command's output fields,
each followed by a tab, then ``+`` (success) or ``-CODE``.

>>> with Doveadm("/run/dovecot/doveadm-server") as adm:
...     adm.run("ann@example.test", "mailbox", "list")
['INBOX', 'Sent']
"""
from __future__ import annotations

import socket
from pathlib import Path

from core.i18n import N_

from .errors import MailError, ServiceUnavailable

SERVICE = N_("mail server (Dovecot)")
HANDSHAKE = b"VERSION\tdoveadm-server\t1\t0\n"
# Dovecot's str_tabescape(): \001 first, so the others stay unambiguous.
ESCAPES = (("\x01", "\x011"), ("\t", "\x01t"), ("\r", "\x01r"), ("\n", "\x01n"))


class DoveadmError(MailError):
    """Dovecot refused a command; `code` is its answer (NOUSER, NOTFOUND, …)."""

    def __init__(self, command: str, code: str) -> None:
        super().__init__(f"doveadm {command} failed: {code or 'error'}")
        self.code = code


def escape(value: str) -> str:
    """VALUE tab-escaped as Dovecot's protocols expect."""
    for raw, escaped in ESCAPES:
        value = value.replace(raw, escaped)
    return value


def unescape(value: str) -> str:
    """The inverse of escape()."""
    out, chars = [], iter(value)
    table = {"1": "\x01", "t": "\t", "r": "\r", "n": "\n"}
    for char in chars:
        out.append(table.get(next(chars, ""), "") if char == "\x01" else char)
    return "".join(out)


class Doveadm:
    """One connection to doveadm-server; run() as many commands as needed, then close."""

    def __init__(self, path: str | Path, timeout: float = 30.0) -> None:
        self.path = str(path)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buffer = b""

    def __enter__(self) -> "Doveadm":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
            sock.sendall(HANDSHAKE)
            self._sock = sock
            if self._line() != b"+":
                raise ServiceUnavailable(SERVICE, "doveadm-server refused the connection")
        except OSError as exc:
            sock.close()
            raise ServiceUnavailable(SERVICE, str(exc)) from exc
        return self

    def __exit__(self, *_exc) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _line(self) -> bytes:
        while b"\n" not in self._buffer:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ServiceUnavailable(SERVICE, "doveadm-server closed the connection")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def run(self, user: str, *command: str) -> list[str]:
        """Run COMMAND (words and arguments) for USER ('' for none); return its output fields."""
        fields = ["", user, *command]
        line = "\t".join(escape(f) for f in fields) + "\n"
        try:
            self._sock.sendall(line.encode("utf-8"))
            # Output values are escaped, so the output is one line; the status follows.
            output, status = self._line(), self._line()
        except OSError as exc:
            raise ServiceUnavailable(SERVICE, str(exc)) from exc
        if not status.startswith(b"+"):
            raise DoveadmError(" ".join(command[:2]), status[1:].decode("utf-8", "replace"))
        text = output.decode("utf-8", "replace")
        return [unescape(f) for f in text.split("\t")[:-1]] if text else []


def rows(fields: list[str], width: int) -> list[list[str]]:
    """FIELDS grouped into records of WIDTH columns (doveadm sends them as one flat list)."""
    return [fields[i:i + width] for i in range(0, len(fields) - width + 1, width)]
