"""Acting on a whole list: the selection of a bulk form, mark all read, and Undo."""
from __future__ import annotations

import secrets
import time

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.extensions import db
from core.mail.errors import ImapError, NotFoundError
from core.mail.search import QueryError
from core.services.mail import bulkops, mailbox
from core.services.spam import learning
from portal.auth.current import mail_connection
from portal.navigation import local_path

from .blueprint import bp
from .context import owner, sort_cache

UNDO_KEY = "undo"
UNDO_SHOWN_SECONDS = 30  # a page drawn later than this after the action offers no Undo
UNDO_ACCEPTED_SECONDS = 120  # an Undo clicked on a page that offered it


def _int(name: str) -> int:
    value = request.form.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 11 else 0


def back(default: str) -> str:
    """The page to return to: the form's `back`, if it is one of ours."""
    return local_path(request.form.get("back"), default)


def selection() -> bulkops.Selection:
    """The messages a bulk form names: ticked `uid`s, or `scope=all` of the list it showed.

    A conversation's row names all its messages in one `uid` value: "12,15,19".
    """
    uids = tuple(int(u) for value in request.form.getlist("uid") for u in value.split(",")
                 if u.isascii() and u.isdigit() and 0 < int(u) < 2**32)
    return bulkops.Selection(
        folder=request.form.get("folder", "INBOX") or "INBOX", uids=uids,
        everything=request.form.get("scope") == "all", upto=_int("upto"),
        uidvalidity=_int("uidvalidity"), query=request.form.get("q", "")[:500],
        total=_int("total") if request.form.get("scope") == "all" else len(set(uids)))


def training_for(*kinds: str) -> learning.Training | None:
    """The spam-training sentences for the person, when the action is one of KINDS."""
    if request.form.get("action", "") not in kinds:
        return None
    return learning.training_for(db.session, current_app.config, current_user.address)


def run_bulk(client, chosen: bulkops.Selection, action: str) -> None:
    """Apply ACTION to CHOSEN on CLIENT; flash what happened and offer its Undo."""
    tree = mailbox.folder_tree(client, counts=False)  # names are enough
    try:
        sets = bulkops.uid_sets(client, sort_cache, owner(), chosen)
        outcome = bulkops.apply(client, tree, chosen.folder, sets, action, chosen.total,
                                request.form.get("target", ""), training_for("spam", "notspam"))
    except (ImapError, QueryError) as exc:
        flash(_('That did not work: %(exc)s', exc=exc), "error")
        return
    flash(outcome.text, "info")
    if outcome.undo:
        session[UNDO_KEY] = {**outcome.undo.as_dict(), "id": secrets.token_urlsafe(8),
                             "at": time.time(), "shown": False}


@bp.app_context_processor
def undo_offer():
    """`undo_offer()` in a template: the Undo of the last move, once, while it is fresh."""
    def offer() -> dict | None:
        pending = session.get(UNDO_KEY)
        if not pending or pending.get("shown"):
            return None
        if time.time() - pending.get("at", 0) > UNDO_SHOWN_SECONDS:
            session.pop(UNDO_KEY, None)
            return None
        session[UNDO_KEY] = {**pending, "shown": True}
        return pending
    return {"undo_offer": offer}


@bp.route("/mail/read-all", methods=["POST"])
@login_required
def read_all():
    """Mark every message of the folder as read: one STORE over its UIDs."""
    folder = request.form.get("folder", "INBOX") or "INBOX"
    with mail_connection(folder) as client:
        try:
            flash(bulkops.mark_all_read(client, folder, _int("upto"), _int("uidvalidity")), "info")
        except (ImapError, NotFoundError) as exc:
            flash(_('That did not work: %(exc)s', exc=exc), "error")
    return redirect(back(url_for("webmail.index", folder=folder)))


@bp.route("/mail/undo", methods=["POST"])
@login_required
def undo():
    """Put the messages of the last delete, move or Junk back where they were."""
    pending = session.get(UNDO_KEY) or {}
    fresh = time.time() - pending.get("at", 0) <= UNDO_ACCEPTED_SECONDS
    if not pending or pending.get("id") != request.form.get("undo") or not fresh:
        flash(_("That can no longer be undone."), "error")
        return redirect(back(url_for("webmail.index")))
    session.pop(UNDO_KEY, None)
    done = bulkops.Undo(pending["folder"], pending["uidvalidity"], pending["uids"],
                        pending["back_to"], pending["count"])
    training = learning.training_for(db.session, current_app.config, current_user.address)
    with mail_connection(done.folder) as client:
        try:
            tree = mailbox.folder_tree(client, counts=False)
            flash(bulkops.undo(client, tree, done, training), "info")
        except (ImapError, NotFoundError) as exc:
            flash(_('Could not undo: %(exc)s', exc=exc), "error")
    return redirect(back(url_for("webmail.index", folder=done.back_to)))
