"""Settings that a directory user's own directory keeps (issue 19): the password. Its
page says so instead of offering a form, and a change is refused.

Mailroom must not keep a main password for them: Dovecot asks the database's passdbs
first, by address, so such a credential would outlive the person and open the mailbox of
whoever is given the address next (and the directory's password would no longer be the one).
"""
from __future__ import annotations

from functools import wraps

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from core.i18n import lazy_gettext as _l

PASSWORD_TEXT = _l("Your account comes from your organisation's directory, and so does your password: "
                   "change it there, or ask whoever runs the directory. Mail programs and this site take "
                   "the new password at their next sign-in.")


def password_kept_in_directory(view):
    """The password view: a directory user gets a page that says where their password is
    changed (GET), and any change is refused (403)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user.is_authenticated and current_user.from_directory:
            return render_template("portal/directory_managed.html", title=_("Password"), text=PASSWORD_TEXT), \
                200 if request.method == "GET" else 403
        return view(*args, **kwargs)
    return wrapper
