"""Sign-in attempts counted in memory, per client network.

The web sign-in holds a slot while it asks the IMAP server (SignInSlots). The counts
live in the process that keeps them and start empty when it restarts.
"""
from __future__ import annotations

import ipaddress
import threading
from contextlib import contextmanager
from typing import Iterator

# An IPv6 client is usually handed a whole /64 (RFC 6177): count the network, not each address.
IPV6_PREFIX = 64


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
