"""The limits on password guesses: per address (shared by every form that checks a
password) and per client."""
from __future__ import annotations

import ipaddress
from typing import Callable

from flask import current_app, request

from core.extensions import limiter
from core.services.access import signin

# An IPv6 client is usually handed a whole /64 (RFC 6177): count the network, not each address.
IPV6_PREFIX = 64

# One bucket per address for the sign-in form and the password-change form: guessing the
# current password on the settings page is guessing a login.
SCOPE = "password-guesses"


def guess_limit(address: Callable[[], str], deduct_when: Callable) -> Callable:
    """Limit POSTs to LOGIN_LIMIT_ADDRESS per normalised ADDRESS() (a decorator).

    DEDUCT_WHEN(response) says whether the answer was a wrong guess.
    """
    return limiter.shared_limit(
        lambda: current_app.config["LOGIN_LIMIT_ADDRESS"], scope=SCOPE, methods=["POST"],
        key_func=lambda: signin.limit_key(address()), deduct_when=deduct_when)


def client_key() -> str:
    """The client a per-client limit counts: its IPv4 address, or its IPv6 /64
    (a request from 2001:db8::7 counts as 'client:2001:db8::/64')."""
    text = request.remote_addr or ""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return "client:" + text
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.version == 6:
        return f"client:{ipaddress.ip_network(f'{address}/{IPV6_PREFIX}', strict=False)}"
    return f"client:{address}"
