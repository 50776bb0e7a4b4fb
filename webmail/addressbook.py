"""Contacts: the address book (CardDAV, shared with phones), its pages, import and export."""
from __future__ import annotations

import logging

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from core.mail import vcard
from core.mail.carddav import CardDavError
from core.services.errors import InvalidInput, NotFound, Refused
from core.services.mail import addressbook as service
from core.services.paging import page_number, page_of_list

from .blueprint import bp
from .transfer import _download

log = logging.getLogger(__name__)
PER_PAGE = 50
IMPORT_FIELD = "vcards"
VCARD_TYPE = "text/vcard; charset=utf-8"


def _book():
    """This person's address book (ServiceUnavailable, shown as its error page, when down)."""
    return service.open_book(current_app.config, current_user.address)


@bp.errorhandler(CardDavError)
def address_book_refused(error: CardDavError):
    """The address book server said no (a down server is ServiceUnavailable's page)."""
    log.warning("CardDAV refused: %s", error)
    return render_template("errors/error.html", code=502, title=_("The address book refused"),
                           text=_("The address book server answered: %(answer)s. Try again in a moment.",
                                  answer=str(error))), 502


def _entry(book, name: str) -> service.Entry:
    """The contact NAME of BOOK, or a 404 page."""
    try:
        return service.get(book, name)
    except NotFound as exc:
        abort(404, description=str(exc))


@bp.route("/contacts")
@login_required
def contacts():
    """The contacts, searched (?q=) and in a group (?group=), a page at a time."""
    query, group = request.args.get("q", "")[:100], request.args.get("group", "")[:service.MAX_GROUP]
    found = service.entries(service.open_book(current_app.config, current_user.address, create=True))
    listed = page_of_list(service.matching(found, query, group), page_number(request.args.get("page", "")),
                          PER_PAGE)
    members = service.addresses(service.matching(found, "", group)) if group else []
    return render_template("webmail/contacts.html", listed=listed, query=query, group=group,
                           groups=service.groups(found), total=len(found), members=members)


def _form_card(uid: str) -> vcard.Card:
    form = request.form
    return service.card_from_form(uid, form.get("name", ""), form.get("emails", ""), form.get("phones", ""),
                                  form.get("note", ""), form.get("groups", ""))


def _form_page(card: vcard.Card | None, entry: service.Entry | None, error: str = "", status: int = 200):
    return render_template("webmail/contact.html", card=card, entry=entry, error=error), status


@bp.route("/contacts/new", methods=["GET", "POST"])
@login_required
def contact_new():
    """A new contact (the form may come prefilled with ?name= and ?email=)."""
    if request.method == "GET":
        args = request.args
        return _form_page(vcard.Card("", args.get("name", "")[:service.MAX_NAME],
                                     (args.get("email", "")[:320],) if args.get("email") else ()), None)
    try:
        card = _form_card(vcard.new_uid())
        name = service.save(_book(), card)
    except InvalidInput as exc:
        return _form_page(None, None, str(exc), 400)
    flash(_("%(name)s was added to your contacts.", name=card.title), "info")
    return redirect(url_for("webmail.contact", name=name))


@bp.route("/contacts/card/<name>", methods=["GET", "POST"])
@login_required
def contact(name: str):
    """One contact: its page with the form to change it."""
    book = _book()
    entry = _entry(book, name)
    if request.method == "GET":
        return _form_page(entry.card, entry)
    try:
        card = _form_card(entry.card.uid)
        service.save(book, card, entry)
    except (InvalidInput, Refused) as exc:
        return _form_page(entry.card, entry, str(exc), 400 if isinstance(exc, InvalidInput) else 409)
    flash(_("%(name)s was saved.", name=card.title), "info")
    return redirect(url_for("webmail.contact", name=name))


@bp.route("/contacts/card/<name>/delete", methods=["POST"])
@login_required
def contact_delete(name: str):
    """Remove a contact (from every phone that syncs the book, too)."""
    book = _book()
    entry = _entry(book, name)
    service.delete(book, entry)
    flash(_("%(name)s was deleted.", name=entry.card.title), "info")
    return redirect(url_for("webmail.contacts"))


@bp.route("/contacts/group/rename", methods=["POST"])
@login_required
def group_rename():
    """Rename a group on every contact in it (phones see the new name at their next sync)."""
    old, new = request.form.get("group", ""), request.form.get("new_name", "")
    try:
        new, changed = service.rename_group(_book(), old, new)
    except (InvalidInput, NotFound, Refused) as exc:
        flash(str(exc), "error")
        return redirect(url_for("webmail.contacts", group=old or None))
    flash(ngettext("The group %(old)s is now %(new)s (%(num)s contact).",
                   "The group %(old)s is now %(new)s (%(num)s contacts).", changed, old=old, new=new), "info")
    return redirect(url_for("webmail.contacts", group=new))


@bp.route("/contacts/group/delete", methods=["POST"])
@login_required
def group_delete():
    """Delete a group: every contact in it leaves it, and stays in the book."""
    group = request.form.get("group", "")
    try:
        changed = service.delete_group(_book(), group)
    except (NotFound, Refused) as exc:
        flash(str(exc), "error")
        return redirect(url_for("webmail.contacts", group=group or None))
    flash(ngettext("The group %(group)s was deleted; its %(num)s contact stays in your book.",
                   "The group %(group)s was deleted; its %(num)s contacts stay in your book.", changed,
                   group=group), "info")
    return redirect(url_for("webmail.contacts"))


@bp.route("/contacts/card/<name>/vcard")
@login_required
def contact_export(name: str):
    """One contact as a .vcf file to save."""
    entry = _entry(_book(), name)
    return current_app.response_class(entry.text, **_download(entry.card.title + ".vcf", VCARD_TYPE))


@bp.route("/contacts/export")
@login_required
def contacts_export():
    """The whole address book as one .vcf file to save."""
    return current_app.response_class(service.export_all(_book()),
                                      **_download("contacts.vcf", VCARD_TYPE))


@bp.route("/contacts/import", methods=["POST"])
@login_required
def contacts_import():
    """Add the contacts of an uploaded .vcf file (one or many cards)."""
    upload = request.files.get(IMPORT_FIELD)
    if upload is None or not upload.filename:
        flash(_("Choose a .vcf file to import."), "error")
        return redirect(url_for("webmail.contacts"))
    try:
        added, replaced = service.import_file(_book(), upload.read(service.MAX_IMPORT_BYTES + 1))
    except (InvalidInput, Refused) as exc:
        flash(str(exc), "error")
        return redirect(url_for("webmail.contacts"))
    flash(ngettext("Imported %(num)s new contact and updated %(replaced)s.",
                   "Imported %(num)s new contacts and updated %(replaced)s.", added, replaced=replaced)
          if replaced else ngettext("Imported %(num)s new contact.", "Imported %(num)s new contacts.", added),
          "info")
    return redirect(url_for("webmail.contacts"))


@bp.route("/contacts/add-sender", methods=["POST"])
@login_required
def contact_add_sender():
    """"Add to contacts" on a message: the sender's name and address, then its page."""
    try:
        name, added = service.add_address(_book(), request.form.get("name", ""), request.form.get("address", ""))
    except InvalidInput as exc:
        flash(str(exc), "error")
        return redirect(url_for("webmail.contacts"))
    address = request.form.get("address", "")
    flash(_("%(name)s was added to your contacts.", name=address) if added
          else _("%(address)s is in your contacts already.", address=address), "info")
    return redirect(url_for("webmail.contact", name=name))
