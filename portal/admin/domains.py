"""Admin: domains (add, edit, delete) and their domain admins."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.extensions import db
from core.mail.errors import MailError
from core.models import Domain
from core.services.access import admin_roles
from core.services.directory import dkim, domains
from core.services.paging import page_number
from core.services.server import mailstore

from .blueprint import bp
from .access import admin_required, owns, server_admin_required
from .common import actor, attempt, checked, config, save


@bp.route("/domains")
@admin_required
def domain_list():
    """The caller's domains with counts, a page at a time; server admins also get the form
    for a new one."""
    return render_template("admin/domains.html", listed=_domain_page())


def _domain_page():
    return domains.page_of_domains(db.session, current_user.roles,
                                   page_number(request.args.get("page", "")))


@bp.route("/domains", methods=["POST"])
@server_admin_required
def domain_create():
    """Add a domain (server admins only); it delivers locally until changed."""
    name = request.form.get("name", "")
    domain, error = attempt(lambda: domains.create_domain(db.session, actor(), name))
    if error:
        return render_template("admin/domains.html", listed=_domain_page(), error=error, name=name), 400
    flash(_('Added %(unicode_name)s. Mail for it is accepted from now on.',
            unicode_name=domain.unicode_name), "ok")
    return redirect(url_for("admin.domain_edit", name=domain.name))


def edit_page(domain: Domain, error: str = "", form=None, status: int = 200):
    """The domain page: its settings form, DKIM section and domain admins."""
    values = form or {
        "mode": domain.mode, "relay": domains.relay_text(domain) or "",
        "bcc": domain.bcc_address or "", "catch_all": domain.catchall_address or "",
    }
    try:
        record, dkim_error = dkim.status(config(), domain), ""
    except MailError as exc:
        record, dkim_error = None, str(exc)
    page = render_template("admin/domain.html", domain=domain, values=values, error=error,
                           modes=domains.MODES, admins=admin_roles.admins_of(db.session, domain),
                           dkim=record, dkim_error=dkim_error)
    return page, status


@bp.route("/domains/<name>", methods=["GET", "POST"])
@owns("domain")
def domain_edit(domain: Domain):
    """Delivery mode, relay host, always-Bcc and catch-all of one domain."""
    if request.method == "GET":
        return edit_page(domain)
    form = {key: request.form.get(key, "") for key in ("mode", "relay", "bcc", "catch_all")}
    return save(lambda: domains.update_domain(db.session, actor(), domain, **form),
                lambda error: edit_page(domain, error, form, 400),
                _('Saved. Postfix uses the new settings of %(unicode_name)s from the next message '
                  'on.', unicode_name=domain.unicode_name), "admin.domain_edit", name=domain.name)


@bp.route("/domains/<name>/two-factor", methods=["POST"])
@owns("domain")
def domain_two_factor(domain: Domain):
    """Require two-factor sign-in of the domain's people, or stop requiring it."""
    required = checked("require_two_factor")
    return save(lambda: domains.require_two_factor(db.session, actor(), domain, required),
                lambda error: edit_page(domain, error, status=400),
                _('Saved. People of %(unicode_name)s without two-factor sign-in are sent to set it '
                  'up at their next click.', unicode_name=domain.unicode_name) if required else
                _('Saved. Two-factor sign-in is up to each person of %(unicode_name)s.',
                  unicode_name=domain.unicode_name),
                "admin.domain_edit", name=domain.name)


@bp.route("/domains/<name>/admins", methods=["POST"])
@server_admin_required
@owns("domain")
def domain_admin_add(domain: Domain):
    """Let a mailbox administer this domain."""
    return _change_admins(domain, admin_roles.add_domain_admin,
                          "{address} now administers {domain}.")


@bp.route("/domains/<name>/admins/remove", methods=["POST"])
@server_admin_required
@owns("domain")
def domain_admin_remove(domain: Domain):
    """Take this domain away from one of its domain admins."""
    return _change_admins(domain, admin_roles.remove_domain_admin,
                          _("{address} no longer administers {domain}."))


def _change_admins(domain: Domain, step, done: str):
    """Run STEP (add or remove a domain admin) for the address in the form; DONE is the notice."""
    address = request.form.get("address", "")
    return save(lambda: step(db.session, actor(), domain, address),
                lambda error: edit_page(domain, error, status=400),
                done.format(address=address.strip(), domain=domain.unicode_name),
                "admin.domain_edit", name=domain.name)


@bp.route("/domains/<name>/delete", methods=["GET", "POST"])
@server_admin_required
@owns("domain")
def domain_delete(domain: Domain):
    """Confirm, then remove the domain from the directory; its stored mail stays on disk."""
    found = domains.contents(db.session, domain)
    if request.method == "GET":
        return render_template("admin/domain_delete.html", domain=domain, contents=found)
    if request.form.get("confirm_name", "").strip().lower() not in (domain.name, domain.unicode_name):
        return render_template(
            "admin/domain_delete.html", domain=domain, contents=found,
            error=_('Type the domain name %(unicode_name)s to confirm the deletion.',
                    unicode_name=domain.unicode_name)), 400
    return save(lambda: domains.delete_domain(db.session, actor(), domain,
                                              mailstore.mail_root(config())),
                lambda error: (render_template("admin/domain_delete.html", domain=domain,
                                               contents=found, error=error), 400),
                _('Deleted %(unicode_name)s from the directory. Its stored mail is still on disk.',
                  unicode_name=domain.unicode_name), "admin.domain_list")
