"""Admin: aliases on one domain or on every domain, their destinations, local-only flag."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.extensions import db
from core.models import TO_EXTERNAL, TO_MAILBOX, TO_SHARED, Alias
from core.services.directory import aliases, domains, mailboxes, shared
from core.services.paging import page_number

from .blueprint import bp
from .access import domain_filter, domain_of_field, owns
from .common import actor, attempt, checked, domain_choices, kept_filters, save, wanted_domain


FIELDS = ((TO_MAILBOX, "mailboxes"), (TO_SHARED, "shared"), (TO_EXTERNAL, "external"))


def _destinations() -> list[tuple[str, str]]:
    """(kind, address) pairs typed one per line in the three destination fields."""
    return [(kind, word) for kind, name in FIELDS
            for word in request.form.get(name, "").replace(",", " ").split()]


def _form() -> dict:
    """What the person typed, to show again when it is refused."""
    return {"address": request.form.get("address", ""), "local_only": checked("local_only"),
            **{name: request.form.get(name, "") for _kind, name in FIELDS}}


def _values(alias: Alias) -> dict:
    """An alias's destinations, by kind, one per line."""
    values = {"local_only": alias.local_only}
    for kind, name in FIELDS:
        values[name] = "\n".join(d.target for d in alias.destinations if d.kind == kind)
    return values


def _suggestions() -> dict[str, list[str]]:
    """Mailboxes and shared mailboxes of the caller's domains, offered while typing."""
    roles = current_user.roles
    return {"mailboxes": [m.address for m in mailboxes.list_mailboxes(db.session, roles)],
            "shared": [s.address for s in shared.list_shared(db.session, roles)]}


@bp.route("/aliases")
@domain_filter
def alias_list():
    """Aliases of the caller's domains (and, for server admins, those on every domain),
    a page at a time."""
    domain = wanted_domain()
    found = aliases.page_of_aliases(db.session, current_user.roles, domain,
                                    page_number(request.args.get("page", "")))
    return render_template("admin/aliases.html", listed=found, domain=domain, kept=kept_filters(),
                           domains=domain_choices(), kind_names=aliases.KIND_NAMES)


def _form_page(alias: Alias | None, error: str = "", status: int = 200, form=None):
    values = form or (_values(alias) if alias else {})
    return render_template(
        "admin/alias.html", alias=alias, values=values, error=error,
        suggestions=_suggestions(), domains=domains.visible_names(db.session, current_user.roles),
    ), status


@bp.route("/aliases/new", methods=["GET", "POST"])
@domain_of_field("address")
def alias_create():
    """A new alias: local@domain, or local@* for every domain (server admins)."""
    if request.method == "GET":
        return _form_page(None)
    form = _form()
    alias, error = attempt(lambda: aliases.create_alias(
        db.session, actor(), form["address"], _destinations(), form["local_only"]))
    if error:
        return _form_page(None, error, 400, form)
    flash(_('Created %(address)s. Postfix delivers mail to it from the next message on.',
            address=alias.address), "ok")
    # Its domain's aliases: the whole list is paged, and the new one may be far into it.
    return redirect(url_for("admin.alias_list", domain=alias.domain.name if alias.domain else "*"))


@bp.route("/aliases/<int:alias_id>", methods=["GET", "POST"])
@owns("alias")
def alias_edit(alias: Alias):
    """Change an alias's destinations and whether it takes mail from outside."""
    if request.method == "GET":
        return _form_page(alias)
    form = _form()
    return save(lambda: aliases.update_alias(db.session, actor(), alias, _destinations(),
                                             form["local_only"]),
                lambda error: _form_page(alias, error, 400, form),
                f"Saved {alias.address}.", "admin.alias_list")


@bp.route("/aliases/<int:alias_id>/delete", methods=["POST"])
@owns("alias")
def alias_delete(alias: Alias):
    """Remove an alias; mail to it is refused (or taken by a catch-all) from then on."""
    return save(lambda: aliases.delete_alias(db.session, actor(), alias),
                lambda error: _form_page(alias, error, 400),
                f"Deleted {alias.address}.", "admin.alias_list")
