"""Filters: the list of rules, the sentence-style builder, scripts and the raw editor."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.mail.errors import ServiceUnavailable
from core.mail.sieve_rules import Action, Condition, Rule
from core.services.personal import filters
from core.services.personal.filters import SCRIPT

from . import wording
from .blueprint import bp
from .outcome import attempt
from .rule_form import editing_only, rule_from_form, size_parts
from .stores import own_folders, sieve_store


NEW_RULE = Rule("", [Condition("subject", "contains", "")], [Action("move", "")])


@bp.route("/filters")
@login_required
def filter_list():
    """The rules in order, as sentences, and every script on the server."""
    with sieve_store() as store:
        state = filters.load(store)
    return render_template("portal/filters.html", state=state, script=SCRIPT,
                           describe=wording.rule_text)


def _builder(rule, index=None, original="", outcome=None):
    outcome = outcome or attempt(lambda: None)
    return render_template(
        "portal/rule.html", rule=rule, index=index, original=original, folders=_folders(rule),
        errors=outcome.errors, confirm=outcome.confirm, choices=wording, size_parts=size_parts,
    ), outcome.status


def _folders(rule) -> list[str]:
    """The person's folders for the menus.

    A form that was sent comes back even while the IMAP server is down (its error says
    so): its menus then offer the folders the rule names, so nothing chosen is lost.
    """
    try:
        return own_folders()
    except ServiceUnavailable:
        if request.method == "GET":
            raise
        return [act.value for act in rule.actions if act.kind in ("move", "copy") and act.value]


@bp.route("/filters/new", methods=["GET", "POST"])
@bp.route("/filters/<int:index>/edit", methods=["GET", "POST"])
@login_required
def rule_edit(index: int | None = None):
    """The builder: GET shows the rule, POST saves it (or adds/removes a row)."""
    if request.method == "GET":
        rule, original = NEW_RULE, ""
        if index is not None:
            with sieve_store() as store:
                state = filters.load(store)
            if state.ruleset is None or not 0 <= index < len(state.ruleset.rules):
                flash(_("That rule is not there any more."), "error")
                return redirect(url_for(".filter_list"))
            rule = state.ruleset.rules[index]
            original = rule.name
        return _builder(rule, index, original)
    rule = rule_from_form(request.form)
    if editing_only(request.form):
        return _builder(rule, index, request.form.get("original", ""))
    outcome = attempt(lambda: _save_rule(rule, index))
    if outcome.ok:
        flash(_('Rule “%(name)s” saved; it applies to the next message.', name=rule.name.strip()), "ok")
        return redirect(url_for(".filter_list"))
    return _builder(rule, index, request.form.get("original", ""), outcome)


def _save_rule(rule, index):
    checked = filters.check_rule(rule, own_folders(), current_user.address)
    with sieve_store() as store:
        state = filters.load(store)
        filters.put_rule(store, state, checked, index, request.form.get("original", ""),
                         confirmed=request.form.get("confirm") == "yes")


RULE_OPS = {
    "up": lambda store, state, i, name: filters.move_rule(store, state, i, name, -1),
    "down": lambda store, state, i, name: filters.move_rule(store, state, i, name, 1),
    "on": lambda store, state, i, name: filters.set_enabled(store, state, i, name, True),
    "off": lambda store, state, i, name: filters.set_enabled(store, state, i, name, False),
    "delete": filters.delete_rule,
}


@bp.route("/filters/<int:index>/<any(up, down, on, off, delete):op>", methods=["POST"])
@login_required
def rule_op(index: int, op: str):
    """Move a rule, switch it on or off, or delete it."""
    name = request.form.get("name", "")

    def work():
        with sieve_store() as store:
            RULE_OPS[op](store, filters.load(store), index, name)

    outcome = attempt(work)
    for message in outcome.errors.values():
        flash(message, "error")
    return redirect(url_for(".filter_list"))


@bp.route("/filters/scripts/<any(activate, deactivate, delete):op>", methods=["POST"])
@login_required
def script_op(op: str):
    """Activate a script, switch filtering off, or delete a script."""
    name = request.form.get("name", "")

    def work():
        with sieve_store() as store:
            if op == "activate":
                filters.activate(store, name)
            elif op == "deactivate":
                filters.deactivate(store)
            else:
                filters.delete_script(store, name)

    outcome = attempt(work)
    for message in outcome.errors.values():
        flash(message, "error")
    if outcome.ok:
        flash({"activate": _('“%(name)s” is now the active script.', name=name),
               "deactivate": _("Filtering is off: all mail goes to the Inbox."),
               "delete": _('The script “%(name)s” was deleted.', name=name)}[op], "ok")
    return redirect(url_for(".filter_list"))


@bp.route("/filters/raw", methods=["GET", "POST"])
@login_required
def raw_edit():
    """The whole script as text, checked by the server before it is stored."""
    if request.method == "GET":
        name = request.args.get("name", SCRIPT)
        with sieve_store() as store:
            listing = store.listing()
            text = store.get(name) if name in listing.names else ""
        return render_template("portal/raw.html", name=name, text=text, errors={},
                               activate=listing.active == name or not listing.active)
    name, text = request.form.get("name", ""), request.form.get("text", "")
    activate = "activate" in request.form

    def work():
        with sieve_store() as store:
            filters.save_raw(store, name, text, activate)

    outcome = attempt(work, script_field="text")
    if outcome.ok:
        flash(_("The script “%(name)s” was checked by the server, saved and switched on.",
                name=name) if activate
              else _("The script “%(name)s” was checked by the server and saved.", name=name), "ok")
        return redirect(url_for(".filter_list"))
    return render_template("portal/raw.html", name=name, text=text, errors=outcome.errors,
                           activate=activate), outcome.status
