"""Route decorators that check the caller's admin role before the view runs."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def admin_required(view):
    """Only server admins and domain admins; 403 for everyone else."""
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.roles.is_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapper
