"""Admin: shared mailboxes owned by groups, and folders users shared over IMAP."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.extensions import db
from core.models import SharedMailbox
from core.config import uses_ldap
from core.services.directory import directory_groups, domains, groups, shared
from core.services.server import mailstore

from .blueprint import bp
from .access import domain_filter, domain_of_field, owns
from .common import actor, attempt, config, wanted_domain


@bp.route("/shared")
@domain_filter
def shared_list():
    """Group-owned shared mailboxes, and folders people shared from their IMAP clients."""
    roles = current_user.roles
    domain = wanted_domain()
    by_users = [f for f in shared.shared_by_users(config(), db.session, roles)
                if not domain or f.owner.endswith("@" + domain)]
    return render_template("admin/shared.html", mailboxes=shared.list_shared(db.session, roles, domain),
                           by_users=by_users, domain=domain,
                           domains=domains.visible_names(db.session, roles))


def _form_page(mailbox: SharedMailbox | None, error: str = "", status: int = 200, form=None):
    if form is None:
        form = {"display_name": mailbox.display_name, "owners": shared.owner_names(mailbox),
                "directory_owners": shared.directory_owner_names(mailbox)} \
            if mailbox else {"owners": [], "directory_owners": []}
    offer = directory_groups.offer(config(), current_user.roles) if uses_ldap(config()) else None
    return render_template(
        "admin/shared_form.html", mailbox=mailbox, form=form, error=error, offer=offer,
        directory_kept=_directory_kept(mailbox, offer),
        groups=groups.usable_by(db.session, current_user.roles),
        domains=domains.visible_names(db.session, current_user.roles)), status


def _directory_kept(mailbox: SharedMailbox | None, offer) -> list[str]:
    """Directory owners of MAILBOX the offer lacks (out of reach, or gone): still shown,
    so that saving the form keeps them unless unticked."""
    offered = {g.name for g in offer.groups} if offer else set()
    return [n for n in (shared.directory_owner_names(mailbox) if mailbox else []) if n not in offered]


def _posted() -> dict:
    return {"address": request.form.get("address", ""),
            "display_name": request.form.get("display_name", ""),
            "owners": request.form.getlist("owners"),
            # Offered only with LDAP; otherwise the directory owners stay as they are.
            "directory_owners": request.form.getlist("directory_owners") if uses_ldap(config()) else None}


@bp.route("/shared/new", methods=["GET", "POST"])
@domain_of_field("address")
def shared_create():
    """A new shared mailbox; its owning groups' members get full rights at once."""
    if request.method == "GET":
        return _form_page(None)
    form = _posted()
    mailbox, error = attempt(lambda: shared.create_shared(
        db.session, actor(), current_user.roles, form["address"], form["display_name"],
        form["owners"], form["directory_owners"], config()))
    if error:
        return _form_page(None, error, 400, form)
    shared.after_create(config(), mailbox)
    flash(f"Created {mailbox.address}. Members of {', '.join(shared.owner_labels(mailbox))} "
          "find it under “Shared” in their folder list.", "ok")
    return redirect(url_for("admin.shared_list"))


@bp.route("/shared/<path:address>", methods=["GET", "POST"])
@owns("shared", "mailbox")
def shared_edit(mailbox: SharedMailbox):
    """Rename a shared mailbox or change its owning groups."""
    if request.method == "GET":
        return _form_page(mailbox)
    form = _posted()
    former, error = attempt(lambda: shared.update_shared(
        db.session, actor(), current_user.roles, mailbox, form["display_name"], form["owners"],
        form["directory_owners"], config()))
    if error:
        return _form_page(mailbox, error, 400, form)
    shared.after_update(config(), mailbox, former)
    flash(f"Saved {mailbox.address}.", "ok")
    return redirect(url_for("admin.shared_list"))


@bp.route("/shared/<path:address>/delete", methods=["GET", "POST"])
@owns("shared", "mailbox")
def shared_delete(mailbox: SharedMailbox):
    """Confirm, take the owners' rights away, then remove it (the mail stays unless erased)."""
    home = mailstore.mail_home(config(), mailbox.address)
    if request.method == "GET":
        return render_template("admin/shared_delete.html", mailbox=mailbox, home=home)
    erase = request.form.get("mail") == "erase"
    if erase and request.form.get("confirm_erase", "").strip().lower() != mailbox.address:
        return render_template("admin/shared_delete.html", mailbox=mailbox, home=home,
                               error=f"Type {mailbox.address} to confirm that its mail is "
                                     "erased."), 400
    address = mailbox.address
    shared.revoke_access(config(), mailbox)
    job, error = attempt(lambda: shared.delete_shared(db.session, actor(), mailbox, erase, home))
    if error:
        shared.after_create(config(), mailbox)
        return render_template("admin/shared_delete.html", mailbox=mailbox, home=home,
                               error=error), 400
    flash(f"Deleted {address}. Its mail is being " + ("erased." if erase else
          "moved to the archive, where a server admin can restore it."), "ok")
    return redirect(url_for("admin.shared_list"))
