"""Settings that a directory user's own directory keeps (issue 19): the password and the
sign-in rules. Their pages say so instead of offering a form, and changes are refused.

Mailroom must not keep a password, app password or second factor for them: Dovecot asks
the database's passdbs first, by address, so such a credential would outlive the person
and open the mailbox of whoever is given the address next.
"""
from __future__ import annotations

from functools import wraps

from flask import render_template, request
from flask_login import current_user

PASSWORD = ("Password", "Your account comes from your organisation's directory, and so does your "
            "password: change it there, or ask whoever runs the directory. Mail programs and this "
            "site take the new password at their next sign-in.")
SIGN_IN = ("Two-factor sign-in", "Your account comes from your organisation's directory, which "
           "decides how you sign in: two-factor sign-in and app passwords are not offered here "
           "for it. Mail programs sign in with your directory password.")


def kept_in_directory(wording: tuple[str, str]):
    """A view whose setting a directory user changes in the directory: they get a page
    that says so (WORDING: title, text), refusing any change (403)."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if current_user.is_authenticated and current_user.from_directory:
                title, text = wording
                return render_template("portal/directory_managed.html", title=title, text=text), \
                    200 if request.method == "GET" else 403
            return view(*args, **kwargs)
        return wrapper
    return decorate
