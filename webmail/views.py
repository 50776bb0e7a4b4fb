"""The mail page: folders, the message list, search, and polling for new mail."""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_login import login_required

from core.mail import listing
from core.mail.search import QueryError
from core.services.mail import mailbox
from portal.auth.current import mail_connection

from . import conversations
from .blueprint import bp
from .context import list_options, outgoing, owner, per_page, sort_cache


@bp.route("/")
@bp.route("/mail")
@login_required
def index():
    """Folders, the list of the chosen folder (or search results), an empty reading pane."""
    options = list_options()
    with mail_connection(options.folder) as client:
        threaded = conversations.listed(client, options)
        if threaded:
            (page, side, error), results = threaded, None
        else:
            page, results, error = _list_or_search(client, options)
            side = mailbox.sidebar(client, owner(), options.folder, page.state if page else None)
    current = next((f for f in side.tree if f.name == options.folder), None)
    return render_template("webmail/mail.html", tree=side.tree, page=page, results=results,
                           options=options, quota=side.quota, current=current,
                           search_error=error, message=None,
                           **outgoing(side.tree))


def _list_or_search(client, options):
    try:
        if options.query and options.everywhere:
            return None, mailbox.search_everywhere(
                client, sort_cache, owner(), options.query, mailbox.folder_tree(client),
                options.page, per_page()), ""
        return mailbox.message_list(
            client, sort_cache, owner(), options.folder, sort=options.sort,
            reverse=options.reverse, page=options.page, per_page=per_page(),
            query=options.query), None, ""
    except QueryError as exc:
        page = mailbox.message_list(client, sort_cache, owner(), options.folder,
                                    per_page=per_page())
        return page, None, str(exc)


@bp.route("/mail/changes")
@login_required
def changes():
    """Cheap polling: has the folder changed since the page was drawn? (JSON)"""
    options = list_options()
    since_uidnext = request.args.get("uidnext", 0, type=int)
    threaded = None
    with mail_connection(options.folder) as client:
        info, fresh = listing.arrived_since(client, options.folder, since_uidnext)
        if fresh and request.args.get("conversations"):
            threaded = conversations.arrived(client, options, since_uidnext)
        tree = mailbox.fresh_sidebar(client, owner()).tree  # the next page shows these counts too
    counts = {f.name: f.unseen for f in tree}
    found = {"uidnext": int(info.get(b"UIDNEXT", 0)), "new": len(fresh), "unseen": counts}
    if threaded is not None:
        page, grown = threaded
        found["rows"] = render_template("webmail/_conversation_rows.html", messages=grown,
                                        options=options, selected=None, **outgoing(tree))
        found["conversations"] = {"total": page.total, "messages": page.messages_total}
    else:
        found["rows"] = render_template("webmail/_rows.html", messages=fresh, options=options,
                                        selected=None, **outgoing(tree)) if fresh else ""
    return jsonify(found)
