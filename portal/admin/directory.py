"""Admin: the directory's users and groups (read-only), Mailroom's own settings of a
directory user, and orphaned mail folders (issue 19; MAILROOM_ACCOUNT_PROVIDER=ldap)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.config import uses_ldap
from core.extensions import db
from core.ldapdir import listing
from core.services.directory import directory_users, mailboxes
from core.services.errors import ServiceError
from core.services.paging import page_number

from .blueprint import bp
from .common import actor, attempt, checked, config
from .directory_access import directory_pages, directory_server_pages, owns_directory_user, scope


@bp.context_processor
def directory_navigation():
    """Whether the navigation shows the Directory pages (only with an LDAP directory)."""
    return {"directory_nav": uses_ldap(config())}


@bp.route("/directory/users")
@directory_pages
def directory_user_list():
    """The directory's users in the caller's domains, matching `?q=`, a page at a time."""
    text = request.args.get("q", "")
    found = listing.people_page(config(), scope(), text, page_number(request.args.get("page", "")))
    kept = {"q": text} if text else {}
    return render_template("admin/directory_users.html", listed=found.page, truncated=found.truncated,
                           limit=listing.LIMIT, q=text, kept=kept,
                           settings=directory_users.settings_of(db.session, [p.user.id for p in found.page.rows]),
                           default_quota=config()["DEFAULT_QUOTA_MB"])


def _user_page(person: listing.Listed, error: str = "", form=None, status: int = 200):
    stored = directory_users.settings_of(db.session, [person.user.id]).get(person.user.id)
    values = form or {
        "quota": (stored.quota_mb or "") if stored else "",
        "junk_days": "" if stored is None or stored.junk_days is None else stored.junk_days,
        "domain_admin": bool(stored and stored.domain_admin),
        "forward_address": (stored.forward_address or "") if stored else "",
        "forward_keep_copy": stored.forward_keep_copy if stored else True,
    }
    return render_template("admin/directory_user.html", person=person, values=values, error=error,
                           default_quota=config()["DEFAULT_QUOTA_MB"]), status


@bp.route("/directory/users/<path:directory_id>", methods=["GET", "POST"])
@owns_directory_user
def directory_user_edit(person: listing.Listed):
    """A directory user's entry (read-only) and Mailroom's own settings for them."""
    if request.method == "GET":
        return _user_page(person)
    form = {key: request.form.get(key, "") for key in ("quota", "junk_days", "forward_address")}
    form.update(domain_admin=checked("domain_admin"), forward_keep_copy=checked("forward_keep_copy"))
    # The role is a server admin's to give, as for the database's mailboxes.
    grant = form["domain_admin"] if current_user.roles.server else None

    def update():
        return directory_users.save_settings(db.session, actor(), person.user,
                                             mailboxes.parse_size_mb(form["quota"]),
                                             mailboxes.parse_days(form["junk_days"]), grant,
                                             (form["forward_address"], form["forward_keep_copy"]))

    error = attempt(update)[1]
    if error:
        return _user_page(person, error, form, 400)
    flash(_("Saved %(address)s. Dovecot uses it from their next login or message on.",
            address=person.user.address), "ok")
    return redirect(url_for("admin.directory_user_edit", directory_id=person.user.id))


@bp.route("/directory/groups")
@directory_pages
def directory_group_list():
    """The directory's groups with their members (a domain admin: those in their domains)."""
    found, truncated = listing.groups(config(), scope())
    return render_template("admin/directory_groups.html", groups=found, truncated=truncated,
                           limit=listing.LIMIT)


@bp.route("/directory/orphans")
@directory_server_pages
def directory_orphan_list():
    """Mail folders of people the directory no longer has."""
    return render_template("admin/directory_orphans.html",
                           orphans=directory_users.orphans(db.session, config()))


def _orphan(directory_id: str):
    try:
        return directory_users.get_orphan(db.session, config(), directory_id), None
    except ServiceError as exc:
        return None, str(exc)


@bp.route("/directory/orphans/<path:directory_id>/erase", methods=["GET", "POST"])
@directory_server_pages
def directory_orphan_erase(directory_id: str):
    """Confirm, then queue erasing an orphaned folder."""
    orphan, missing = _orphan(directory_id)
    if orphan is None:
        return render_template("admin/directory_orphans.html", orphans=[], error=missing), 404
    if request.method == "GET":
        return render_template("admin/directory_orphan_erase.html", orphan=orphan)
    return _dispose(orphan, erase=True)


@bp.route("/directory/orphans/<path:directory_id>/keep", methods=["POST"])
@directory_server_pages
def directory_orphan_keep(directory_id: str):
    """Queue moving an orphaned folder to the archive of deleted mailboxes."""
    orphan, missing = _orphan(directory_id)
    if orphan is None:
        return render_template("admin/directory_orphans.html", orphans=[], error=missing), 404
    return _dispose(orphan, erase=False)


def _dispose(orphan: directory_users.Orphan, erase: bool):
    job, error = attempt(lambda: directory_users.dispose(db.session, config(), actor(), orphan, erase))
    if error:
        return render_template("admin/directory_orphans.html", error=error,
                               orphans=directory_users.orphans(db.session, config())), 400
    name = orphan.address or orphan.directory_id
    flash(_("The mail of %(name)s is being erased.", name=name) if erase else
          _("The mail of %(name)s is being moved to the archive (job %(job)s); `mailbox archives` lists it.",
            name=name, job=job.id), "ok")
    return redirect(url_for("admin.directory_orphan_list"))
