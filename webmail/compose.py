"""Compose: new messages, replies, forwards, drafts, attachments and address suggestions."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_time, gettext as _
from flask_login import current_user, login_required

from core.extensions import db
from core.i18n import lazy_gettext as _l
from core.mail.compose import REPLY_MODES, Draft, new_message_id, one_line, valid_message_id
from core.mail import reminder as reminder_words
from core.mail.errors import MailError, NotFoundError
from core.services.access import signin
from core.services.mail import compose as service
from core.services.mail import addressbook, contacts, identities, uploads
from core.services.server import settings
from core.services.errors import InvalidInput, NotFound
from portal.auth.current import mail_connection, password

from . import scheduled as scheduling
from .blueprint import bp

log = logging.getLogger(__name__)
EXPIRED = _l("This message form has expired; open a new one.")
TITLES = {"reply": _l("Reply"), "all": _l("Reply to all"), "forward": _l("Forward"),
          "forward-attachment": "Forward"}


def _data_dir() -> str:
    return current_app.config["DATA_DIR"]


def _limit_mb() -> int:
    """The largest message Postfix accepts (Admin → Server), in MB."""
    return settings.message_size_mb(db.session, current_app.config)


def _workspace(compose_id: str) -> uploads.Workspace | None:
    """The form's workspace if the server issued it to this session, else None."""
    try:
        return uploads.Workspace(_data_dir(), current_user.id, compose_id)
    except NotFound:
        return None


def _workspace_or_new(compose_id: str) -> uploads.Workspace:
    """The form's workspace, or a newly issued one (the form's text is in the request:
    a send or a save of an expired form still works, only its uploads are gone)."""
    return _workspace(compose_id) or uploads.issue(_data_dir(), current_user.id)


def _check_person(length: int) -> None:
    """TooLarge when LENGTH more bytes would take this person over their upload budget."""
    uploads.check_person(_data_dir(), signin.session_ids(db.session, current_user.address),
                         length, int(current_app.config["UPLOAD_QUOTA_MB"]))


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 12 else None


def _folder(value: str | None) -> str:
    value = value or ""
    return "" if len(value) > 500 or any(ord(c) < 32 for c in value) else value


def _identities() -> list[service.Identity]:
    return service.identities(db.session, current_user.address)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"],
                                               default="application/json")
    return best == "application/json"


def _form_draft() -> Draft:
    """The compose form's values as a Draft (ids checked, not trusted)."""
    form = request.form
    mode = form.get("reply_mode", "")
    message_id = form.get("message_id", "")
    return Draft(
        sender=form.get("from", ""), to=form.get("to", ""), cc=form.get("cc", ""),
        bcc=form.get("bcc", ""), subject=one_line(form.get("subject", ""))[:998],
        body=form.get("body", "").replace("\r\n", "\n"), markdown=form.get("markdown") == "on",
        message_id=message_id if valid_message_id(message_id) else "",
        in_reply_to=one_line(form.get("in_reply_to", "")),
        references=one_line(form.get("references", "")),
        reply_mode=mode if mode in REPLY_MODES else "",
        reply_folder=_folder(form.get("reply_folder")),
        reply_uid=_number(form.get("reply_uid")), draft_uid=_number(form.get("draft_uid")),
        receipt=form.get("receipt") == "on",
        priority=form.get("priority", "") if form.get("priority") in ("high", "low") else "",
    )


def _signature_above() -> bool:
    return identities.preferences(db.session, current_user.address).signature_above_quote


def _page(draft: Draft, workspace: uploads.Workspace, choices, *, error: str = "",
          notice: str = "", status: int = 200, reminder: bool = False):
    title = "Draft" if draft.draft_uid and not draft.reply_mode else \
        TITLES.get(draft.reply_mode, "New message")
    return render_template(
        "webmail/compose.html", draft=draft, compose_id=workspace.compose_id,
        attachments=workspace.uploads(), identities=choices, error=error, notice=notice,
        signature_above=_signature_above(), reminder=reminder,
        reminder_question=reminder_words.QUESTION,
        title=title, budget=uploads.attachment_budget(_limit_mb()),
        too_large=uploads.too_large_text(_limit_mb()),
    ), status


def _start(client, workspace: uploads.Workspace, choices) -> Draft:
    args = request.args
    draft_uid, reply_uid = _number(args.get("draft")), _number(args.get("reply"))
    if draft_uid:
        return service.open_draft(client, draft_uid, workspace)
    mode = args.get("mode", "reply")
    if reply_uid and mode in REPLY_MODES:
        folder = _folder(args.get("folder")) or "INBOX"
        return service.prefill(client, folder, reply_uid, mode, choices, workspace,
                               _signature_above())
    sender = choices[0].address
    return service.signed(Draft(sender=sender, to=one_line(args.get("to", ""))[:2000],
                                subject=one_line(args.get("subject", ""))[:998],
                                message_id=new_message_id(sender)), choices[0])


@bp.route("/compose")
@login_required
def compose():
    """The compose form: new, reply (?reply=UID&folder=F&mode=…) or a draft (?draft=UID)."""
    workspace = uploads.issue(_data_dir(), current_user.id)
    choices = _identities()
    try:
        with mail_connection() as client:
            draft = _start(client, workspace, choices)
    except NotFoundError:
        flash(_("That message is no longer there."), "error")
        return redirect(url_for("webmail.index"))
    return _page(draft, workspace, choices)


def _take_files(workspace: uploads.Workspace) -> None:
    """Files sent with the form itself (browsers without JavaScript)."""
    for item in request.files.getlist("files"):
        if item.filename:
            _check_person(request.content_length or 0)
            workspace.add_stream(item.stream, item.filename, _limit_mb())


@bp.route("/compose/send", methods=["POST"])
@login_required
def send():
    """Send the message; on any refusal show the form again, with the reason."""
    workspace = _workspace_or_new(request.form.get("compose_id", ""))
    draft, choices = _form_draft(), _identities()
    try:
        _take_files(workspace)
        identity = service.pick_identity(choices, draft.sender)
        if _remind(workspace, draft):
            return _page(draft, workspace, choices, status=422, reminder=True,
                         error=_('%(question)s Attach it, or press Send again to send the message '
                                 'as it is.', question=reminder_words.QUESTION))
        when = scheduling.plan(request.form)
        with mail_connection() as client:
            report = _send_or_fail(client, draft, workspace, identity, when)
    except InvalidInput as exc:
        return _page(draft, workspace, choices, error=str(exc), status=422)
    except service.AlreadySent as exc:
        flash(str(exc), "info")
        return redirect(url_for("webmail.index"))
    if not isinstance(report, (service.SendReport, service.SendFailed)):
        return report  # scheduled: the redirect that says so
    if isinstance(report, service.SendFailed):
        saved = _(" It is saved in Drafts, so nothing is lost.") if report.draft_uid else ""
        draft.draft_uid = report.draft_uid or draft.draft_uid
        return _page(draft, workspace, choices, error=f"{report}{saved}", status=502)
    flash(_('Message sent to %(recipients)s.', recipients=', '.join(report.recipients)), "info")
    if report.warning:
        flash(report.warning, "error")
    return redirect(url_for("webmail.index"))


def _remind(workspace: uploads.Workspace, draft: Draft) -> bool:
    """Ask once (browsers without scripts: compose.js asks itself and says so)."""
    return (request.form.get("attachment_check") == "ask" and not workspace.uploads()
            and reminder_words.mentions_attachment(draft.body))


def _send_or_fail(client, draft, workspace, identity, when: scheduling.Plan | None):
    # The refusal is returned, not raised, so the pooled IMAP connection is kept.
    try:
        if when:
            return scheduling.schedule(client, draft, workspace, identity, when)
        return service.send(client, draft, workspace, identity, current_app.config,
                            (current_user.address, password()))
    except service.SendFailed as exc:
        return exc


@bp.route("/compose/draft", methods=["POST"])
@login_required
def save_draft():
    """Save the form to Drafts, replacing its last version (JSON for scripts, else the form)."""
    workspace = _workspace_or_new(request.form.get("compose_id", ""))
    draft, choices = _form_draft(), _identities()
    identity = service.pick_identity(choices, draft.sender, strict=False)
    draft.sender = identity.address
    try:
        _take_files(workspace)
        with mail_connection() as client:
            uid = service.save_draft(client, draft, workspace, identity)
    except service.AlreadySent as exc:
        if _wants_json():
            return jsonify(saved=False, error=str(exc)), 409
        flash(str(exc), "info")
        return redirect(url_for("webmail.index"))
    except InvalidInput as exc:
        if _wants_json():
            return jsonify(saved=False, error=str(exc)), 422
        return _page(draft, workspace, choices, error=str(exc), status=422)
    if _wants_json():
        return jsonify(saved=True, draft_uid=uid, message_id=draft.message_id,
                       saved_at=format_time(datetime.now(timezone.utc), "short"))
    return _page(draft, workspace, choices, notice=_("Draft saved."))


@bp.route("/compose/upload", methods=["POST"])
@login_required
def upload():
    """Store one attachment sent as the raw request body (?compose=ID&name=FILE); JSON."""
    workspace = _workspace(request.args.get("compose", ""))
    if workspace is None:
        return jsonify(error=EXPIRED), 404
    try:
        # Checked before request.stream is touched, which Flask bounds by the configured
        # limit: the server setting may be higher.
        limit = _limit_mb()
        _check_person(request.content_length or 0)
        workspace.check_room(request.content_length or 0, limit)
        request.max_content_length = (limit + 5) * uploads.MIB
        item = workspace.add_stream(request.stream, request.args.get("name", ""), limit,
                                    request.content_length)
    except uploads.TooLarge as exc:
        return jsonify(error=str(exc)), 413
    return jsonify(id=item.id, filename=item.filename, content_type=item.content_type,
                   size=item.size, total=workspace.total())


@bp.route("/compose/remove", methods=["POST"])
@login_required
def remove_attachment():
    """Remove one attachment (form fields compose_id, remove); JSON."""
    workspace = _workspace(request.form.get("compose_id", ""))
    if workspace is None:
        return jsonify(error=EXPIRED), 404
    removed = workspace.remove(request.form.get("remove", ""))
    return jsonify(removed=removed, total=workspace.total())


@bp.route("/compose/discard", methods=["POST"])
@login_required
def discard():
    """Throw the message away, with its saved draft."""
    workspace = _workspace_or_new(request.form.get("compose_id", ""))
    with mail_connection() as client:
        service.discard(client, _number(request.form.get("draft_uid")), workspace)
    flash(_("The message was discarded."), "info")
    return redirect(url_for("webmail.index"))


def _book_suggestions(query: str) -> tuple[list[addressbook.GroupSuggestion], list[contacts.Contact]]:
    """The address book's groups and contacts matching QUERY; none while it cannot be read
    (compose works on)."""
    if not query.strip():
        return [], []
    try:
        return addressbook.suggestions(addressbook.open_book(current_app.config, current_user.address), query)
    except MailError as exc:
        log.warning("address book left out of the suggestions: %s", exc)
        return [], []


@bp.route("/compose/contacts")
@login_required
def contact_suggestions():
    """Up to eight suggestions for ?q= (JSON): the book's groups (their label is every
    member's address), then addresses."""
    query = request.args.get("q", "")
    groups, book = _book_suggestions(query)
    with mail_connection() as client:
        found = contacts.suggest(client, db.session, current_user.address, query, book=book)
    answer = ([{"name": g.title, "address": "", "label": g.label, "group": True} for g in groups]
              + [{"name": c.name, "address": c.address, "label": c.label} for c in found])
    return jsonify(answer[:contacts.MAX_RESULTS])
