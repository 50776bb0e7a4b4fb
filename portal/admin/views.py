"""Admin dashboard (quota table, counts, queue) and the audit log."""
from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user

from core.extensions import db
from core.services.access import audit
from core.services.directory import domains, mailboxes
from core.services.paging import page_number
from core.services.server import dashboard, jobs, tracking

from .blueprint import bp
from .access import domain_filter
from .common import config, domain_choices, wanted_domain

# Links the admin navigation shows when another part of the admin area provides them.
OPTIONAL_LINKS = (
    (("admin.spam_index",), "Spam filter", True),
    (("admin.disclaimers_index",), "Disclaimers", False),
)


@bp.context_processor
def admin_navigation():
    """The optional entries of templates/admin/_nav.html that exist in this app."""
    views = current_app.view_functions
    links = []
    for endpoints, label, server_only in OPTIONAL_LINKS:
        found = next((e for e in endpoints if e in views), None)
        if found and (current_user.roles.server or not server_only):
            links.append((found, label))
    return {"optional_admin_links": links}


@bp.route("/")
@domain_filter
def index():
    """Counts, Postfix's queue and the visible mailboxes' quota use (sortable, by domain or
    a search, a page at a time)."""
    roles = current_user.roles
    domain, text = wanted_domain(), request.args.get("q", "")
    sort = request.args.get("sort", "address")
    sort = sort if sort in dashboard.SORT_KEYS else "address"
    descending = request.args.get("order") == "desc"
    rows = dashboard.quota_page(config(), db.session, mailboxes.mailbox_query(roles, domain, text), sort,
                                descending, page_number(request.args.get("page", "")))
    return render_template(
        "admin/dashboard.html", rows=rows, counts=dashboard.counts(db.session, roles),
        queue=dashboard.queue_counts(config()) if roles.server else None,
        scanner_down=dashboard.scanner_down(db.session, config()) if roles.server else None,
        directory=dashboard.directory_status(config()) if roles.server else None,
        today=tracking.counts_today(config()) if roles.server else None,
        domains=domain_choices(), domain=domain, q=text, sort=sort,
        descending=descending, jobs=jobs.recent(db.session, 5) if roles.server else [],
    )


def _filters() -> audit.Filters:
    args = request.args
    try:
        days = int(args.get("days", "0"))
    except ValueError:
        days = 0
    return audit.Filters(actor=args.get("actor", ""), kind=args.get("kind", ""),
                         action=args.get("action", ""), domain=args.get("domain", ""),
                         text=args.get("q", ""), days=days)


@bp.route("/audit")
@domain_filter
def audit_log():
    """Every admin change, newest first, filtered by who, what, domain, text and age."""
    roles = current_user.roles
    filters = _filters()
    return render_template(
        "admin/audit.html", result=audit.entries(db.session, roles, filters, page_number(request.args.get("page", ""))),
        filters=filters, actors=audit.actors(db.session, roles), kinds=audit.KINDS,
        actions=audit.ACTIONS, domains=domains.visible_names(db.session, roles),
        pager_args={k: v for k, v in request.args.items() if k != "page"},
    )
