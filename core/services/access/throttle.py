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
from typing import Callable, Iterator

from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from core.mail.errors import AuthenticationFailed, LoginDelayed

# An IPv6 client is usually handed a whole /64 (RFC 6177): count the network, not each address.
IPV6_PREFIX = 64
# A login Dovecot allowed is answered within its penalty (15 s) and failure delay (2 s);
# one that never reports (the client hung up) stops counting as under way after this.
PENDING_SECONDS = 30.0
# Dovecot's penalty stops mattering this long after an address's last failure
# (AUTH_PENALTY_TIMEOUT in src/auth/auth-penalty.h: 2 + 4 + 8 + 15 s); until then a
# sign-in from that network may be held back and keeps a web server thread.
SUSPECT_SECONDS = 29.0


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
    """Sign-ins under way: at most a given number in all, and one at a time from a client
    network whose sign-in failed lately.

    A sign-in can wait for seconds on the mail server, holding a web server thread:
    Dovecot answers a failure after 2 s and delays every login from an address that failed
    before, for up to 15 s. All clients together never hold more than the capacity. A
    network that failed within SUSPECT_SECONDS is held to one sign-in at a time, so a
    guesser cannot take the whole capacity; a network without failures is not, because
    its sign-ins are answered at once and one address is often a whole office (NAT) or a
    proxy, whose people sign in together. When all slots are taken, a sign-in waits up to
    PATIENCE seconds for one (people arriving together at nine o'clock), then ServerBusy.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._busy: dict[str, int] = {}
        self._failed: dict[str, float] = {}  # network -> when its last sign-in failed
        self._lock = threading.Condition()

    @contextmanager
    def slot(self, client: str, capacity: int, patience: float = 0.0) -> Iterator[bool]:
        """Hold a slot for a sign-in from CLIENT; AlreadySigningIn at once when it failed
        lately and has one under way, ServerBusy when none frees within PATIENCE seconds.
        Yields whether CLIENT failed lately (Dovecot may be holding its answers back).
        A wrong password or a held-back answer (AuthenticationFailed, LoginDelayed) raised
        inside counts as CLIENT's failure."""
        with self._lock:
            if self._busy.get(client) and self._failed_lately(client):
                raise AlreadySigningIn(client)
            if not self._lock.wait_for(lambda: sum(self._busy.values()) < capacity, patience):
                raise ServerBusy(client)
            if self._busy.get(client) and self._failed_lately(client):  # failed while it waited
                raise AlreadySigningIn(client)
            self._busy[client] = self._busy.get(client, 0) + 1
            suspect = self._failed_lately(client)
        try:
            yield suspect
        except (AuthenticationFailed, LoginDelayed):
            with self._lock:
                self._note_failure(client)
            raise
        finally:
            with self._lock:
                self._busy[client] -= 1
                if not self._busy[client]:
                    del self._busy[client]
                self._lock.notify()

    def _failed_lately(self, client: str) -> bool:
        """Whether CLIENT's last failure is less than SUSPECT_SECONDS old (caller holds the lock)."""
        when = self._failed.get(client)
        return when is not None and self._clock() - when < SUSPECT_SECONDS

    def _note_failure(self, client: str) -> None:
        """Note CLIENT's failure now and forget those past SUSPECT_SECONDS (caller holds
        the lock): kept oldest first, so the record stays as small as the attack."""
        now = self._clock()
        self._failed.pop(client, None)
        self._failed[client] = now
        while now - next(iter(self._failed.values())) >= SUSPECT_SECONDS:
            del self._failed[next(iter(self._failed))]


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
