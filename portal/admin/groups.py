"""Admin: groups (server-wide, server admins only): create, rename, members, delete."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.extensions import db
from core.models import Group
from core.services.directory import groups, shared

from .blueprint import bp
from .access import owns, server_admin_required
from .common import actor, attempt, config, save


@bp.route("/groups", methods=["GET", "POST"])
@server_admin_required
def group_list():
    """Every group with its members and the shared mailboxes it owns; a form for a new one."""
    if request.method == "GET":
        return render_template("admin/groups.html", rows=groups.list_groups(db.session))
    name = request.form.get("name", "")
    group, error = attempt(lambda: groups.create_group(db.session, actor(), name))
    if error:
        return render_template("admin/groups.html", rows=groups.list_groups(db.session),
                               error=error, name=name), 400
    flash(_('Created the group %(name)s. Add its members below.', name=group.name), "ok")
    return redirect(url_for("admin.group_edit", name=group.name))


def _page(group: Group, error: str = "", status: int = 200, **values):
    return render_template("admin/group.html", group=group, error=error,
                           owns=groups.owned_by(db.session, group),
                           spamtrainers=groups.SPAMTRAINERS, **values), status


@bp.route("/groups/<name>", methods=["GET", "POST"])
@owns("group")
def group_edit(group: Group):
    """Rename a group; the ACLs of the shared mailboxes it owns follow the new name."""
    if request.method == "GET":
        return _page(group)
    new_name = request.form.get("name", "")
    old, error = attempt(lambda: groups.rename_group(db.session, actor(), group, new_name))
    if error:
        return _page(group, error, 400, new_name=new_name)
    shared.after_rename(config(), db.session, group, old)
    flash(_('Saved the group %(name)s.', name=group.name), "ok")
    return redirect(url_for("admin.group_edit", name=group.name))


@bp.route("/groups/<name>/members", methods=["POST"])
@owns("group")
def group_member_add(group: Group):
    """Add a mailbox; it gets the group's rights from its next login on."""
    address = request.form.get("address", "")
    member, error = attempt(lambda: groups.add_member(db.session, actor(), group, address))
    if error:
        return _page(group, error, 400, member=address)
    shared.after_membership(config(), db.session, group, member.address)
    flash(_('Added %(address)s to %(name)s.', address=member.address, name=group.name), "ok")
    return redirect(url_for("admin.group_edit", name=group.name))


@bp.route("/groups/<name>/members/remove", methods=["POST"])
@owns("group")
def group_member_remove(group: Group):
    """Take a mailbox out of the group."""
    address = request.form.get("address", "")
    _removed, error = attempt(lambda: groups.remove_member(db.session, actor(), group, address))
    if error:
        return _page(group, error, 400)
    shared.after_membership(config(), db.session, group, address.strip().lower())
    flash(_('Removed %(address)s from %(name)s.', address=address.strip(), name=group.name), "ok")
    return redirect(url_for("admin.group_edit", name=group.name))


@bp.route("/groups/<name>/delete", methods=["POST"])
@owns("group")
def group_delete(group: Group):
    """Delete a group that owns no shared mailbox."""
    return save(lambda: groups.delete_group(db.session, actor(), group),
                lambda error: _page(group, error, 400),
                _('Deleted the group %(name)s.', name=group.name), "admin.group_list")
