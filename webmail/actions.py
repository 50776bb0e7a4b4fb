"""Changing mail: bulk actions on the list, emptying Trash/Junk, managing folders."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.mail.errors import ImapError
from core.services.mail import mailbox
from portal.auth.current import mail_connection

from . import listops
from .blueprint import bp
from .context import owner

FOLDER_ACTIONS = ("create", "rename", "delete", "subscribe", "unsubscribe")


@bp.after_request
def _counts_anew_after_a_change(response):
    """After any POST (moved, deleted, sent, imported, a folder made) the tree is listed anew."""
    if request.method == "POST" and current_user.is_authenticated:
        mailbox.forget_sidebar(owner())
    return response


@bp.route("/mail/bulk", methods=["POST"])
@login_required
def bulk():
    """Mark, flag, move or delete the selected messages (or all of the list), then go back."""
    chosen = listops.selection()
    with mail_connection(chosen.folder) as client:
        listops.run_bulk(client, chosen, request.form.get("action", ""))
    return redirect(listops.back(url_for("webmail.index", folder=chosen.folder)))


@bp.route("/mail/empty", methods=["POST"])
@login_required
def empty():
    """Empty Trash or Junk for good (the page asks for confirmation first)."""
    folder = request.form.get("folder", "")
    with mail_connection() as client:
        try:
            tree = mailbox.folder_tree(client, counts=False)
            flash(mailbox.empty_folder(client, tree, folder), "info")
        except ImapError as exc:
            flash(str(exc), "error")
    return redirect(url_for("webmail.index", folder=folder))


@bp.route("/folders", methods=["GET", "POST"])
@login_required
def folders():
    """Create, rename, delete and (un)subscribe folders."""
    with mail_connection() as client:
        if request.method == "POST":
            _change_folder(client)
            return redirect(url_for("webmail.folders"))
        tree = mailbox.folder_tree(client)
    return render_template("webmail/folders.html", tree=tree)


def _change_folder(client) -> None:
    action = request.form.get("action", "")
    name = request.form.get("name", "").strip()
    new_name = request.form.get("new_name", "").strip()
    parent = request.form.get("parent", "").strip()
    if action == "create" and parent:
        name = f"{parent}/{name}"
    try:
        mailbox.change_folder(client, action, name, new_name)
    except (ImapError, ValueError) as exc:
        flash(_('Could not %(action)s “%(name)s”: %(exc)s', action=action, name=name, exc=exc), "error")
        return
    flash(_('Folder “%(name)s”: %(action)s done.', name=new_name or name, action=action), "info")
