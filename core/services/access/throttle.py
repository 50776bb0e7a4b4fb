"""Sign-in attempts counted in memory, per client: those under way and those that failed.

The web sign-in holds a slot while it asks the IMAP server (SignInSlots); the worker's
Dovecot auth policy server counts failed logins for IMAP, POP3, ManageSieve and SMTP
AUTH (FailedLogins). Both count a client by its network (client_network). The counts
live in the process that keeps them and start empty when it restarts.
"""
from __future__ import annotations

import ipaddress
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

# An IPv6 client is usually handed a whole /64 (RFC 6177): count the network, not each address.
IPV6_PREFIX = 64
# A login Dovecot allowed is answered within its penalty (15 s) and failure delay (2 s);
# one that never reports (the client hung up) stops counting as under way after this.
PENDING_SECONDS = 30.0


def client_network(text: str) -> str:
    """The client a per-client limit counts: its IPv4 address, or its IPv6 /64.

    >>> client_network("2001:db8::7"), client_network("::ffff:192.0.2.1")
    ('2001:db8::/64', '192.0.2.1')
    """
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


class SignInBusy(Exception):
    """A sign-in was not started: too many are under way."""


class AlreadySigningIn(SignInBusy):
    """This client has a sign-in under way already."""


class ServerBusy(SignInBusy):
    """As many sign-ins as allowed are under way."""


class SignInSlots:
    """Sign-ins under way: one per client network, and at most a given number in all.

    A sign-in can wait for seconds on the mail server (Dovecot delays an address that
    failed before), and it holds a web server thread meanwhile: one client never holds
    more than one, and all clients together never more than the capacity.
    """

    def __init__(self) -> None:
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, client: str, capacity: int) -> Iterator[None]:
        """Hold CLIENT's slot for a sign-in; AlreadySigningIn or ServerBusy when there is none."""
        with self._lock:
            if client in self._busy:
                raise AlreadySigningIn(client)
            if len(self._busy) >= capacity:
                raise ServerBusy(client)
            self._busy.add(client)
        try:
            yield
        finally:
            with self._lock:
                self._busy.discard(client)


class FailedLogins:
    """Failed logins per client network in a moving window; a success takes nothing off.

    Each login is asked about (allow) before its password is checked and its outcome
    reported afterwards (report). Logins under way count as failures until they report,
    so a burst of guesses sent at once cannot all start before the first one fails.
    LIMIT is written as for the web's limits, e.g. "20 per minute"; clients in EXEMPT
    (networks) are never limited.
    """

    def __init__(self, limit: str, exempt: tuple = ()) -> None:
        self.set_limit(limit)
        self.exempt = exempt
        self._failures = MovingWindowRateLimiter(MemoryStorage())
        self._pending: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def set_limit(self, limit: str) -> None:
        """Count against LIMIT from now on (a changed limit counts afresh)."""
        self.items = parse_many(limit)

    def allow(self, remote: str) -> bool:
        """Whether a login from REMOTE may be checked now (it then counts as under way)."""
        if self._exempted(remote):
            return True
        key = client_network(remote)
        with self._lock:
            pending = self._under_way(key)
            allowed = all(self._failures.test(item, key, cost=len(pending) + 1) for item in self.items)
            if allowed:
                pending.append(time.monotonic() + PENDING_SECONDS)
            self._keep(key, pending)
            return allowed

    def report(self, remote: str, success: bool, refused: bool) -> None:
        """Note how a login from REMOTE ended; REFUSED: allow had said no, nothing to count."""
        if refused or self._exempted(remote):
            return
        key = client_network(remote)
        with self._lock:
            self._keep(key, self._under_way(key)[1:])
            if not success:
                for item in self.items:
                    self._failures.hit(item, key)

    def _exempted(self, remote: str) -> bool:
        # No address (a local admin tool such as `doveadm auth test`) is nobody to limit.
        try:
            address = ipaddress.ip_address(remote)
        except ValueError:
            return not remote
        return any(address in network for network in self.exempt)

    def _under_way(self, key: str) -> list[float]:
        """KEY's logins under way, without those that never reported (caller holds the lock)."""
        now = time.monotonic()
        return [deadline for deadline in self._pending.get(key, ()) if deadline > now]

    def _keep(self, key: str, pending: list[float]) -> None:
        """Store KEY's logins under way; a client with none takes no memory."""
        if pending:
            self._pending[key] = pending
        else:
            self._pending.pop(key, None)
