"""The conversation view: the list as one row per thread, a thread opened, the view switch."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.extensions import db
from core.mail.errors import NotFoundError
from core.mail.folders import find_special
from core.mail.search import QueryError, parse
from core.services.mail import conversations, identities, mailbox
from portal.auth.current import mail_connection

from .blueprint import bp
from .context import conversations_chosen, list_options, outgoing, owner, per_page, sort_cache
from .listops import back

VIEWS = {"messages": False, "conversations": True}


def listed(client, options) -> tuple[conversations.ConversationPage, mailbox.Sidebar, str] | None:
    """The page of conversations, the sidebar and a search error; None when the list shows
    messages (the person's choice, a search of every folder, Drafts)."""
    if options.everywhere or not conversations_chosen():
        return None
    side = mailbox.sidebar(client, owner(), options.folder)
    if options.folder == find_special(side.tree, "\\Drafts"):
        return None
    error = ""
    try:
        criteria = parse(options.query).criteria if options.query else None
    except QueryError as exc:
        criteria, error = None, str(exc)
    page = conversations.conversation_page(
        client, sort_cache, owner(), options.folder, find_special(side.tree, "\\Sent"),
        page=options.page, per_page=per_page(), criteria=criteria)
    return page, side, error


def arrived(client, options, since_uidnext: int) -> tuple[conversations.ConversationPage, list] | None:
    """Page 1 of conversations and those of it that hold mail from SINCE_UIDNEXT on (they
    come first: the latest arrival leads); None when the list shows messages."""
    found = listed(client, options)
    if found is None:
        return None
    page = found[0]
    return page, [c for c in page.conversations if c.opens >= since_uidnext]


@bp.route("/mail/conversation/<int(min=1, max=4294967295):uid>")
@login_required
def conversation(uid: int):
    """The list of conversations with one opened: its messages in order, the newest expanded."""
    options = list_options()
    with mail_connection(options.folder) as client:
        sent = find_special(mailbox.sidebar(client, owner(), options.folder).tree, "\\Sent")
        try:
            opened, neighbours = conversations.open_conversation(
                client, sort_cache, owner(), options.folder, sent, uid)
        except NotFoundError:
            abort(404)
        found = listed(client, options)
        # Opening marked messages read: the folder's state is asked anew.
        side = mailbox.sidebar(client, owner(), options.folder)
    page, _, error = found or (None, None, "")
    current = next((f for f in side.tree if f.name == options.folder), None)
    return render_template("webmail/mail.html", tree=side.tree, page=page, results=None,
                           options=options, quota=side.quota, current=current,
                           search_error=error, message=None, conversation=opened,
                           neighbours=neighbours, **outgoing(side.tree))


@bp.route("/mail/view", methods=["POST"])
@login_required
def list_view():
    """Remember whether the person's list shows messages or conversations."""
    view = request.form.get("view", "")
    if view not in VIEWS:
        abort(400)
    identities.save_list_view(db.session, current_user.address, VIEWS[view])
    db.session.commit()
    flash(_('The list now shows %(view)s.', view=view), "info")
    return redirect(back(url_for("webmail.index")))
