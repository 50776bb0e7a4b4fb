"""Reading a message: the page, the sandboxed body frame, parts, zip, source."""
from __future__ import annotations

import secrets

from flask import (Response, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.extensions import db
from core.mail import mime, sanitize
from core.services.errors import InvalidInput
from core.services.mail import mailbox, reading, receipts
from portal.auth.current import mail_connection

from .blueprint import bp
from .context import list_options, outgoing, owner, per_page, sort_cache

NOSNIFF = {"X-Content-Type-Options": "nosniff"}
# Served parts must never run anything, even when opened directly in a tab.
PART_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"


def _raw(uid: int) -> bytes:
    """The raw message UID of the folder the list shows."""
    folder = list_options().folder
    with mail_connection(folder) as client:
        return reading.fetch_raw(client, owner(), folder, uid)


@bp.route("/mail/<int(min=1, max=4294967295):uid>")
@login_required
def message(uid: int):
    """The list with one message open in the reading pane (alone on a phone)."""
    options = list_options()
    with mail_connection(options.folder) as client:
        page = mailbox.message_list(client, sort_cache, owner(), options.folder,
                                    sort=options.sort, reverse=options.reverse,
                                    page=options.page, per_page=per_page(), query=options.query)
        # Previous/next follow the list as shown: its sort and its search.
        opened = reading.open_message(client, owner(), options.folder, uid, page.order)
        # Reading may have set \\Seen: the folder's state is asked anew, not the list's.
        side = mailbox.sidebar(client, owner(), options.folder)
    tree = side.tree
    trust = reading.sender_trust(db.session, current_user.address, opened,
                                 current_app.config["MAIL_HOSTNAME"])
    remote = trust.honoured or request.args.get("remote") == "1"
    # Sanitised as the frame will ask for it, so the frame finds it cached.
    html = reading.body_html(opened.raw, remote, opened.parsed)
    current = next((f for f in tree if f.name == options.folder), None)
    return render_template(
        "webmail/mail.html", tree=tree, page=page, results=None, options=options, quota=side.quota,
        current=current, search_error="", message=opened, html=html, trust=trust,
        remote=remote,
        text_html=sanitize.text_to_html(opened.parsed.text or "") if not html else "",
        receipt_to=receipts.asks_receipt(db.session, current_user.address, opened.raw, opened.flags),
        **outgoing(tree),
    )


@bp.route("/mail/<int(min=1, max=4294967295):uid>/body")
@login_required
def body(uid: int):
    """The sanitised HTML body as its own document, for a sandboxed iframe."""
    allow_remote = request.args.get("remote") == "1"
    raw = _raw(uid)
    html = reading.body_html(raw, allow_remote)
    # Text mail is framed too where a conversation shows several messages in one page.
    shown = html.html if html else sanitize.text_to_html(mime.parse_message(raw).text or "")
    nonce = secrets.token_urlsafe(16)  # admits our stylesheet, and only it
    document = render_template("webmail/body.html", html=shown, nonce=nonce)
    csp = sanitize.mail_csp(allow_remote, nonce)
    return Response(document, mimetype="text/html",
                    headers={**NOSNIFF, "Content-Security-Policy": csp,
                             "X-Frame-Options": "SAMEORIGIN",  # framed by our own page
                             "Cache-Control": "private, no-store"})


@bp.route("/mail/<int(min=1, max=4294967295):uid>/part/<part_id>")
@login_required
def attachment(uid: int, part_id: str):
    """One attachment: a download, or inline for raster images, PDF and plain text."""
    raw = _raw(uid)
    payload, content_type, filename = reading.part(raw, part_id)
    inline = request.args.get("inline") == "1" and reading.sniffed_safe(payload, content_type)
    if not inline:
        content_type = content_type if content_type in reading.INLINE_SAFE else "application/octet-stream"
    if content_type == "text/plain":
        content_type = "text/plain; charset=utf-8"
    return Response(payload, content_type=content_type, headers={
        **NOSNIFF, "Content-Security-Policy": PART_CSP,
        "Content-Disposition": mime.content_disposition(filename, inline=inline),
        "Cache-Control": "private, max-age=300"})


@bp.route("/mail/<int(min=1, max=4294967295):uid>/attachments.zip")
@login_required
def attachments_zip(uid: int):
    """Every attachment of the message in one zip file."""
    raw = _raw(uid)
    data = reading.zip_attachments(raw, mime.parse_message(raw))
    return Response(data, content_type="application/zip", headers={
        **NOSNIFF, "Content-Disposition": mime.content_disposition(f"message-{uid}-attachments.zip")})


@bp.route("/mail/<int(min=1, max=4294967295):uid>/source")
@login_required
def source(uid: int):
    """The raw message as plain text, never interpreted by the browser."""
    raw = _raw(uid)
    return Response(raw.decode("utf-8", errors="replace"), content_type="text/plain; charset=utf-8",
                    headers={**NOSNIFF, "Content-Security-Policy": PART_CSP,
                             "Content-Disposition": "inline"})


@bp.route("/mail/trust", methods=["POST"])
@login_required
def trust():
    """Always show remote content from this message's sender."""
    sender = request.form.get("sender", "")
    uid = request.form.get("uid", type=int)
    if not sender or uid is None or not 0 < uid < 2**32:  # the message to go back to
        abort(400)
    try:
        reading.trust_sender(db.session, current_user.address, sender)
    except InvalidInput:
        abort(400)
    flash(_('Remote content from %(sender)s will always be shown.', sender=sender), "info")
    options = list_options()
    return redirect(url_for("webmail.message", uid=uid, folder=options.folder))
