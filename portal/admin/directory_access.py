"""Route decorators of the Directory pages (MAILROOM_ACCOUNT_PROVIDER=ldap).

The role is checked first (403), then whether the directory is in use (404 otherwise:
the pages do not exist), then the object: a directory user is loaded live by their
stable id (404 when the directory has nobody with it) and must have an address in the
caller's domains (403).
"""
from __future__ import annotations

from functools import wraps

from flask import abort, render_template
from flask_login import current_user

from core.config import uses_ldap
from core.ldapdir import listing
from core.ldapdir.people import DirectoryUnavailable

from .access import admin_required, server_admin_required
from .common import config


def directory_pages(view, role=admin_required):
    """A Directory page for ROLE; 404 while users do not come from a directory."""
    @wraps(view)
    @role
    def wrapper(*args, **kwargs):
        if not uses_ldap(config()):
            abort(404)
        try:
            return view(*args, **kwargs)
        except DirectoryUnavailable as exc:
            return unavailable(str(exc))
    return wrapper


def directory_server_pages(view):
    """A Directory page for server admins only (orphaned mail folders)."""
    return directory_pages(view, server_admin_required)


def unavailable(problem: str):
    """The page that says the directory cannot be read (503)."""
    return render_template("admin/directory_down.html", problem=problem), 503


def scope() -> frozenset[str] | None:
    """The domains whose directory users the caller sees (None: every one)."""
    roles = current_user.roles
    return None if roles.server else roles.domains


def owns_directory_user(view):
    """Load the directory user of the URL's `directory_id` as `person`; 404, 403 as above."""
    @wraps(view)
    @directory_pages
    def wrapper(*args, directory_id: str, **kwargs):
        found = listing.person(config(), directory_id)
        if found is None:
            abort(404)
        if not current_user.roles.may_manage(found.user.address.rpartition("@")[2]):
            abort(403)
        return view(*args, person=found, **kwargs)
    return wrapper
