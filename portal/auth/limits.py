"""The per-address limit on password guesses, shared by every form that checks a password."""
from __future__ import annotations

from typing import Callable

from flask import current_app

from core.extensions import limiter
from core.services.access import signin

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
