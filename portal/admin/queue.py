"""Admin → Server → Queue (server admins only): Postfix's queue, a message's headers,
attempt to send, delete one or all."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.extensions import db
from core.services.errors import InvalidInput, NotFound, ServiceError
from core.services.paging import page_number
from core.services.server import queue

from .access import server_admin_required
from .blueprint import bp
from .common import actor, config

# Where the list page's own links and forms keep the filter and page.
KEPT = ("sender", "recipient", "page")


def _back():
    """To the list page, with the filter and page the form came from."""
    kept = {name: request.form.get(name, "") for name in KEPT}
    return redirect(url_for("admin.server_queue", **{k: v for k, v in kept.items() if v}))


@bp.route("/server/queue")
@server_admin_required
def server_queue():
    """The queue, newest first, 50 a page, filtered by sender and recipient."""
    sender, recipient = request.args.get("sender", ""), request.args.get("recipient", "")
    listed = queue.listing(config(), sender, recipient, page_number(request.args.get("page", "")))
    kept = {k: v for k, v in (("sender", sender), ("recipient", recipient)) if v}
    return render_template("admin/queue.html", listed=listed, sender=sender, recipient=recipient,
                           kept=kept)


@bp.route("/server/queue/message/<queue_id>")
@server_admin_required
def server_queue_message(queue_id: str):
    """One queued message's headers (`postcat -hq`); says so plainly when it has left."""
    try:
        text = queue.headers(config(), queue_id)
    except (InvalidInput, NotFound) as exc:
        return render_template("admin/queue_message.html", queue_id=queue_id, gone=str(exc)), 404
    return render_template("admin/queue_message.html", queue_id=queue_id, headers=text, gone="")


def _act(change, done: str):
    """Run CHANGE (a service call that commits); flash DONE or the refusal, back to the list."""
    try:
        change()
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(done, "ok")
    return _back()


@bp.route("/server/queue/flush", methods=["POST"])
@server_admin_required
def server_queue_flush():
    """Attempt to send one message (form field queue_id) or all of them now."""
    queue_id = request.form.get("queue_id") or None
    return _act(lambda: queue.flush(db.session, config(), actor(), queue_id),
                _('Postfix is attempting to send %(message)s now. A message that still cannot go '
                  'stays in the queue with its new reason.', message=queue_id) if queue_id else
                _('Postfix is attempting to send every queued message now. A message that still cannot '
                  'go stays in the queue with its new reason.'))


@bp.route("/server/queue/delete", methods=["POST"])
@server_admin_required
def server_queue_delete():
    """Delete one queued message (form field queue_id) for good."""
    queue_id = request.form.get("queue_id", "")
    return _act(lambda: queue.delete(db.session, config(), actor(), queue_id),
                _('Deleted message %(queue_id)s from the queue.', queue_id=queue_id))


@bp.route("/server/queue/delete-all", methods=["GET", "POST"])
@server_admin_required
def server_queue_delete_all():
    """Confirm with the count, then delete every queued message (if the count still holds)."""
    if request.method == "GET":
        return render_template("admin/queue_delete_all.html", counts=queue.counts(config()) or {})
    expected = request.form.get("expected", "")
    if not expected.isdigit():  # the confirmation names the count it was given for
        flash(_("Confirm how many messages to delete first."), "error")
        return redirect(url_for("admin.server_queue_delete_all"))
    try:
        deleted = queue.delete_all(db.session, config(), actor(), int(expected))
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.server_queue"))
    flash(_('Deleted %(deleted)s message(s) from the queue.', deleted=deleted), "ok")
    return redirect(url_for("admin.server_queue"))
