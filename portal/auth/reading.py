"""Reading another person's mailbox (a server admin, through the master user): the
cookie's note of whose session to return to, the banner, what such a session may do,
and POST /return.

The session itself is the person's (core/services/access/reading.py); the cookie keeps
the admin's own web session id and key beside it (the cookie is signed, and holds a
session key anyway), so "Return to admin" resumes that session without a new sign-in.
The master password opens IMAP only: such a session reads, files and deletes mail, but
neither writes nor sends (submission refuses the master password, so Compose, Send and
read receipts are hidden and refused), nor opens the person's settings or admin pages
(ManageSieve refuses it too, and the admin pages must not be the person's).
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from core.extensions import db, imap_pool
from core.services.access import signin

from .blueprint import bp
from .current import READING_KEY, VAULT_KEY, User

# Webmail endpoints that write or send mail: refused while reading someone's mailbox.
WRITING = frozenset({"webmail.compose", "webmail.send", "webmail.save_draft", "webmail.upload",
                     "webmail.remove_attachment", "webmail.discard", "webmail.contact_suggestions",
                     "webmail.receipt", "webmail.edit_scheduled", "webmail.cancel_scheduled"})
# The address book is the person's, kept in CardDAV, not mail the admin reads: every view of
# webmail/addressbook.py is refused, the ones added later too.
ADDRESS_BOOK_MODULE = "webmail.addressbook"
# What else such a session may reach besides the webmail's reading.
ALLOWED = frozenset({"static", "favicon", "auth.return_to_admin", "auth.logout"})


def reading_note() -> dict | None:
    """The cookie's note while an admin reads a mailbox: {'admin', 'session', 'key'}."""
    note = session.get(READING_KEY)
    return note if isinstance(note, dict) else None


def begin(signed_in: signin.SignedIn) -> None:
    """Switch the browser from the admin's session to SIGNED_IN's (the mailbox read)."""
    note = {"admin": current_user.address, "session": current_user.id, "key": session[VAULT_KEY]}
    _switch(signed_in.session_id, signed_in.key, signed_in.address, note)
    imap_pool.put(current_user.login, signed_in.client)


def _switch(session_id: str, key: str, address: str, note: dict | None) -> None:
    """A fresh cookie for web session SESSION_ID (no fixation), with NOTE if reading."""
    logout_user()
    session.clear()
    session.permanent = True
    session[VAULT_KEY] = key
    if note:
        session[READING_KEY] = note
    login_user(User(session_id, address, note["admin"] if note else None))


@bp.before_app_request
def keep_to_reading():
    """While reading another's mailbox, only the webmail's reading is open (403 else)."""
    if reading_note() is None or not current_user.is_authenticated:
        return None
    endpoint = request.endpoint or ""
    view = current_app.view_functions.get(endpoint)
    if endpoint in ALLOWED or (endpoint.startswith("webmail.") and endpoint not in WRITING
                               and getattr(view, "__module__", "") != ADDRESS_BOOK_MODULE):
        return None
    abort(403, description="You are reading another person's mailbox: writing, sending and "
                           "settings are off. Return to admin first.")


@bp.app_context_processor
def reading_banner() -> dict:
    """`reading_for`: the mailbox being read (for the banner), or None."""
    note = reading_note()
    reading = note is not None and current_user.is_authenticated
    return {"reading_for": current_user.address if reading else None}


@bp.route("/return", methods=["POST"])
@login_required
def return_to_admin():
    """End the reading session and resume the admin's own (or sign in again if it ended)."""
    note = reading_note()
    if note is None:
        return redirect(url_for("webmail.index"))
    address = current_user.address
    signin.sign_out(db.session, current_user.id)
    imap_pool.discard(current_user.login)
    admin = signin.active_session(db.session, note.get("session", ""), *signin.lifetimes(current_app.config))
    if admin is None:
        logout_user()
        session.clear()
        flash(_("Your own session ended meanwhile: sign in again."), "info")
        return redirect(url_for("auth.login"))
    _switch(admin.id, note["key"], admin.address, None)
    flash(_("You left %(address)s's mailbox.", address=address), "ok")
    return redirect(url_for("admin.mailbox_edit", address=address))
