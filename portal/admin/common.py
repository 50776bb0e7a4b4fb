"""Small helpers shared by the admin views: who acts, one transaction per change."""
from __future__ import annotations

from typing import Callable, TypeVar

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from core.extensions import db
from core.services.directory import domains, lookup
from core.services.errors import ServiceError

T = TypeVar("T")
# A list page's domain filter is a menu up to this many domains, a text field beyond.
DOMAIN_MENU_MAX = 200


def actor() -> str:
    """The address the audit log names for this request's changes."""
    return current_user.address


def config() -> dict:
    """The app's settings, for services that reach the mail system."""
    return current_app.config


def attempt(change: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run CHANGE and commit; on a ServiceError roll back and return its message.

    Services flush but never commit, so a change is one transaction: nothing is
    half-written when they refuse.
    """
    try:
        result = change()
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        return None, str(exc)
    return result, None


def save(change: Callable[[], object], refused: Callable[[str], object], done: str,
         endpoint: str, **values):
    """Run CHANGE as attempt(); REFUSED(message) answers a refusal, else flash DONE, go to ENDPOINT."""
    _, error = attempt(change)
    if error:
        return refused(error)
    flash(done, "ok")
    return redirect(url_for(endpoint, **values))


def checked(name: str) -> bool:
    """Whether the checkbox NAME was ticked in the submitted form."""
    return request.form.get(name) in ("on", "1", "yes", "true")


def wanted_domain() -> str:
    """The `?domain=` of a list page as stored (IDNA), '*' for every domain, or ''."""
    text = request.args.get("domain", "").strip().lower()
    if text in ("", "*"):
        return text
    try:
        return lookup.valid_domain_name(text)
    except ServiceError:
        abort(400)  # no domain name: nothing to compare (the domain column normalises)


def kept_filters() -> dict[str, str]:
    """The filters of a list page that its page links keep."""
    return {name: request.args[name] for name in ("domain", "q") if request.args.get(name)}


def domain_choices() -> list[str] | None:
    """The domains a list page's filter offers as a menu; None when there are more than
    DOMAIN_MENU_MAX (the filter is then a text field: a menu of 10,000 helps nobody)."""
    names = domains.visible_names(db.session, current_user.roles, limit=DOMAIN_MENU_MAX + 1)
    return names if len(names) <= DOMAIN_MENU_MAX else None
