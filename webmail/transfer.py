"""Messages as files and on paper: download .eml, a zip of a selection, import, print."""
from __future__ import annotations

import secrets

from flask import (Response, current_app, flash, jsonify, redirect, render_template, request,
                   stream_with_context, url_for)
from flask_babel import gettext as _
from flask_login import login_required

from core.extensions import db
from core.mail import mime, sanitize
from core.mail.errors import ImapError, NotFoundError
from core.mail.search import QueryError
from core.services.errors import InvalidInput
from core.services.mail import bulkops, reading, transfer
from core.services.server import settings
from portal.auth.current import mail_connection

from . import listops
from .blueprint import bp
from .context import list_options, owner, sort_cache
from .read import NOSNIFF, PART_CSP

UPLOAD_FIELD = "message"


def _download(filename: str, content_type: str) -> dict:
    """Response arguments for a file to save, never to be shown or sniffed."""
    return {"content_type": content_type, "headers": {
        **NOSNIFF, "Content-Security-Policy": PART_CSP, "Cache-Control": "private, no-store",
        "Content-Disposition": mime.content_disposition(filename)}}


@bp.route("/mail/<int(min=1, max=4294967295):uid>/eml")
@login_required
def eml(uid: int):
    """The message exactly as stored, as a .eml file to save."""
    folder = list_options().folder
    with mail_connection(folder) as client:
        raw = reading.fetch_raw(client, owner(), folder, uid)
    subject = mime.parse_message(raw).subject or ""
    return Response(raw, **_download(transfer.eml_name(subject, f"message-{uid}"), "message/rfc822"))


@bp.route("/mail/export.zip", methods=["POST"])
@login_required
def export_zip():
    """The selected messages (or all of the list) as a zip of .eml files, streamed."""
    chosen = listops.selection()
    back = listops.back(url_for("webmail.index", folder=chosen.folder))
    try:
        with mail_connection(chosen.folder) as client:
            sets = bulkops.uid_sets(client, sort_cache, owner(), chosen)
    except (ImapError, QueryError) as exc:
        flash(_('That did not work: %(exc)s', exc=exc), "error")
        return redirect(back)
    if not sets:
        flash(_("No messages were selected."), "info")
        return redirect(back)

    def generate():
        with mail_connection(chosen.folder) as client:
            yield from transfer.zip_of(client, chosen.folder, sets)

    name = mime.safe_filename(f"{chosen.folder} messages.zip", "messages.zip")
    return Response(stream_with_context(generate()), **_download(name, "application/zip"))


def _limit_mb() -> int:
    return settings.message_size_mb(db.session, current_app.config)


@bp.route("/mail/import", methods=["POST"])
@login_required
def import_messages():
    """APPEND uploaded .eml files to the folder (JSON for the page's uploader, else a page)."""
    limit = _limit_mb()
    # Checked before the body is read: one message at most, as compose allows.
    request.max_content_length = (limit + 5) * transfer.MIB
    folder = request.form.get("folder", "INBOX") or "INBOX"
    files = [f for f in request.files.getlist(UPLOAD_FIELD) if f.filename or f.content_length]
    said = []
    with mail_connection(folder) as client:
        for upload in files:
            said.append(_import_one(client, folder, upload, limit))
    if not files:
        said.append((_("Choose one or more .eml files to import."), "error"))
    for text, category in said:
        flash(text, category)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(results=[{"text": t, "ok": c == "info"} for t, c in said])
    return redirect(listops.back(url_for("webmail.index", folder=folder)))


def _import_one(client, folder: str, upload, limit: int) -> tuple[str, str]:
    """(sentence, flash category) for one uploaded file."""
    data = upload.stream.read(limit * transfer.MIB + 1)
    try:
        done = transfer.import_message(client, folder, upload.filename or "", data, limit)
    except (InvalidInput, ImapError, NotFoundError) as exc:
        return str(exc), "error"
    when = f", dated {done.date:%d %b %Y}" if done.date else ""
    return f"“{done.filename}” imported into {folder}{when}.", "info"


@bp.route("/mail/<int(min=1, max=4294967295):uid>/print")
@login_required
def print_view(uid: int):
    """The message with its headers and attachment list, laid out for paper; it opens the
    browser's print dialog itself. Served like the body frame: sandboxed, no cookies'
    origin, the mail's CSS in style attributes only; our one script is admitted by nonce."""
    options = list_options()
    allow_remote = request.args.get("remote") == "1"
    with mail_connection(options.folder) as client:
        opened = reading.open_message(client, owner(), options.folder, uid)
    html = reading.body_html(opened.raw, allow_remote, opened.parsed)
    nonce = secrets.token_urlsafe(16)
    document = render_template(
        "webmail/print.html", message=opened, nonce=nonce, html=html.html if html else "",
        text_html="" if html else sanitize.text_to_html(opened.parsed.text or ""))
    return Response(document, mimetype="text/html", headers={
        **NOSNIFF, "Content-Security-Policy": sanitize.print_csp(allow_remote, nonce),
        "Cache-Control": "private, no-store"})
