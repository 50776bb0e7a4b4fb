"""Route decorators: who may open an admin page, and which objects are theirs.

Every object a route touches is loaded here from the URL (or, for a new object, its
domain is read from the request) and checked against the caller's roles before the
view runs: 404 when it does not exist, 403 when it is not the caller's. Views never
repeat these checks.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_login import current_user, login_required

from core.extensions import db
from core.services.access import api_token_admin, roles
from core.services.directory import aliases, groups, lookup, shared
from core.services.directory.aliases import EVERY_DOMAIN
from core.services.errors import ServiceError



def admin_required(view):
    """Only server admins and domain admins; 403 for everyone else."""
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.roles.is_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def server_admin_required(view):
    """Only server admins: server-wide objects (groups, new domains)."""
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.roles.server:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def _may_manage(domain: str | None) -> bool:
    """Whether the caller administers DOMAIN; None means server-wide (server admins only)."""
    roles = current_user.roles
    return roles.server if domain is None else roles.may_manage(domain)


def _mailbox_scope(mailbox) -> str | None:
    """The domain a mailbox counts under, or None (server admins only) when it holds an
    admin role beyond the caller's domains: a domain admin must not take over the
    account of a server admin, or of another domain's admin, living on their domain."""
    held = roles.roles_of(db.session, mailbox.address)
    if held.server or not held.domains <= current_user.roles.domains:
        return None
    return mailbox.domain.name


# kind -> (URL parameter, loader, the domain an object belongs to or None if server-wide)
LOADERS = {
    "domain": ("name", lookup.get_domain, lambda d: d.name),
    "mailbox": ("address", lookup.get_mailbox, _mailbox_scope),
    "alias": ("alias_id", aliases.get_alias, lambda a: a.domain.name if a.domain else None),
    "shared": ("address", shared.get_shared, lambda s: s.domain.name),
    "group": ("name", groups.get_group, lambda g: None),
    "token": ("token_id", api_token_admin.get,
              lambda t: api_token_admin.scope(db.session, t, current_user.roles)),
}


def owns(kind: str, arg: str | None = None):
    """Load the KIND named in the URL and pass it to the view as ARG (default KIND).

    404 when it does not exist, 403 when it is not the caller's.
    """
    param, loader, domain_of = LOADERS[kind]

    def decorator(view):
        @wraps(view)
        @admin_required
        def wrapper(*args, **kwargs):
            try:
                obj = loader(db.session, kwargs.pop(param))
            except ServiceError:
                abort(404)
            if not _may_manage(domain_of(obj)):
                abort(403)
            return view(*args, **{**kwargs, arg or kind: obj})
        return wrapper
    return decorator


def _domain_part(value: str) -> str | None:
    """The domain of an address or alias typed in a form (None for `local@*`)."""
    domain = value.strip().rpartition("@")[2].strip()
    if domain == EVERY_DOMAIN:
        return None
    try:
        return lookup.valid_domain_name(domain)
    except ServiceError:
        return ""  # not a domain: the service will say what is wrong with it


def domain_of_field(field: str, values=lambda: request.form):
    """For a new object: the domain of the address in FIELD of the submitted VALUES() (the
    form; the API passes its JSON body) must be the caller's."""
    def decorator(view):
        @wraps(view)
        @admin_required
        def wrapper(*args, **kwargs):
            if request.method == "POST":
                typed = values().get(field, "")
                domain = _domain_part(typed if isinstance(typed, str) else "")
                if domain != "" and not _may_manage(domain):
                    abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorator


def domain_filter(view):
    """A list filtered by `?domain=NAME` must name one of the caller's domains."""
    @wraps(view)
    @admin_required
    def wrapper(*args, **kwargs):
        wanted = request.args.get("domain", "").strip().lower()
        if wanted and wanted != EVERY_DOMAIN and not _may_manage(_domain_part("@" + wanted)):
            abort(403)
        if wanted == EVERY_DOMAIN and not current_user.roles.server:
            abort(403)
        return view(*args, **kwargs)
    return wrapper
