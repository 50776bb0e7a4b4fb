"""ManageSieve store over sievelib (RFC 5804): list, read, check, store and activate scripts."""
from __future__ import annotations

import logging
import re
import socket
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from sievelib.managesieve import Client, Error as ProtocolError

from core.i18n import N_

from .errors import AuthenticationFailed, ServiceUnavailable, SieveError

log = logging.getLogger(__name__)
SERVICE = N_("ManageSieve server (Dovecot)")
# Pigeonhole: 'line 3: error: unknown command 'foo' (...)'.
LINE = re.compile(r"line (\d+):\s*(?:error:\s*)?", re.IGNORECASE)


class ScriptRejected(SieveError):
    """The server refused a script; `message` is its answer, `line` the line it names."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class SieveSettings:
    """Where the ManageSieve server listens."""

    host: str
    port: int
    timeout: float = 10.0

    @classmethod
    def from_config(cls, cfg: dict) -> "SieveSettings":
        """Build from SIEVE_HOST, SIEVE_PORT and MAIL_TIMEOUT."""
        return cls(cfg["SIEVE_HOST"], int(cfg["SIEVE_PORT"]), float(cfg["MAIL_TIMEOUT"]))


@dataclass(frozen=True)
class Listing:
    """The scripts of an account, e.g. Listing(active='mailroom', names=['mailroom', 'old'])."""

    active: str | None
    names: list[str]


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value or ""


def rejection(server_text: str) -> ScriptRejected:
    """A ScriptRejected from the server's answer, picking out the first line number it names."""
    lines = [line.strip() for line in server_text.splitlines() if line.strip()]
    for line in lines:
        match = LINE.search(line)
        if match:
            return ScriptRejected(line[match.end():].strip(), int(match.group(1)))
    return ScriptRejected("; ".join(lines) or "the server refused the script")


class SieveStore:
    """One logged-in ManageSieve session; every failure becomes a typed error."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _call(self, method: str, *args):
        try:
            return getattr(self.client, method)(*args)
        except (ProtocolError, OSError) as exc:
            raise ServiceUnavailable(SERVICE, str(exc)) from exc

    def _refused(self, what: str) -> SieveError:
        detail = _text(self.client.errmsg)
        return SieveError(f"{what}: {detail}" if detail else what)

    def capabilities(self) -> list[str]:
        """The Sieve extensions the server offers, e.g. ['fileinto', 'vacation', ...]."""
        return [c.lower() for c in self._call("get_sieve_capabilities")]

    def listing(self) -> Listing:
        """The script names and which one is active."""
        result = self._call("listscripts")
        if result is None:
            raise self._refused("The server did not list the scripts")
        active, others = result
        names = sorted({*others, *([active] if active else [])}, key=str.lower)
        return Listing(active, names)

    def get(self, name: str) -> str:
        """The text of script NAME."""
        text = self._call("getscript", name)
        if text is None:
            raise self._refused(f"The script {name!r} could not be read")
        return text

    def check(self, text: str) -> None:
        """CHECKSCRIPT: ScriptRejected with the server's message and line when TEXT is invalid."""
        if not self._call("checkscript", text):
            raise rejection(_text(self.client.errmsg))

    def put(self, name: str, text: str) -> None:
        """Check TEXT, then store it as NAME (replacing it); nothing is stored when invalid."""
        self.check(text)
        if not self._call("putscript", name, text):
            raise rejection(_text(self.client.errmsg))

    def activate(self, name: str) -> None:
        """Make NAME the active script ('' switches every script off)."""
        if not self._call("setactive", name):
            raise self._refused(f"The script {name!r} could not be activated")

    def delete(self, name: str) -> None:
        """Delete script NAME (the server refuses while it is active)."""
        if not self._call("deletescript", name):
            raise self._refused(f"The script {name!r} could not be deleted")


@contextmanager
def session(settings: SieveSettings, address: str, password: str) -> Iterator[SieveStore]:
    """A logged-in ManageSieve session, logged out afterwards.

    PLAIN without TLS: the server is on loopback, which Dovecot treats as secured.
    """
    client = Client(settings.host, settings.port)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            authenticated = client.connect(address, password, authmech="PLAIN")
        client.sock.settimeout(settings.timeout)
    except (ProtocolError, OSError, socket.timeout) as exc:
        raise ServiceUnavailable(SERVICE, str(exc)) from exc
    if not authenticated:
        _close(client)
        raise AuthenticationFailed("the ManageSieve server refused the sign-in")
    try:
        yield SieveStore(client)
    finally:
        _close(client)


def _close(client: Client) -> None:
    try:
        if client.sock is not None:
            client.logout()
    except (ProtocolError, OSError):
        log.debug("ManageSieve logout failed", exc_info=True)
    finally:
        if client.sock is not None:
            client.sock.close()
            client.sock = None
