"""Admin: mailboxes (create, edit, passwords and set-password links, delete)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.extensions import db
from core.models import Mailbox
from core.mail.errors import MailError
from core.services.access import admin_roles, reading, twofactor
from core.services.directory import domains, links, mailboxes
from core.services.errors import ServiceError
from core.services.paging import page_number
from core.services.server import mailstore, settings
from portal.auth.current import client_ip, imap_settings
from portal.auth.reading import begin as begin_reading

from .blueprint import bp
from .access import domain_filter, domain_of_field, owns, server_admin_required
from .common import actor, attempt, checked, config, domain_choices, kept_filters, save, wanted_domain

EDIT_FIELDS = ("display_name", "quota", "junk_days", "forward_address")


@bp.route("/mailboxes")
@domain_filter
def mailbox_list():
    """Mailboxes of the caller's domains, optionally of one domain or matching a search,
    a page at a time."""
    domain, text = wanted_domain(), request.args.get("q", "")
    found = mailboxes.page_of_mailboxes(db.session, current_user.roles, domain, text,
                                        page_number(request.args.get("page", "")))
    return render_template("admin/mailboxes.html", listed=found, domain=domain, q=text,
                           kept=kept_filters(), domains=domain_choices())


def _new_page(error: str = "", status: int = 200):
    names = domains.visible_names(db.session, current_user.roles)
    return render_template("admin/mailbox_new.html", error=error, form=request.form,
                           domains=names), status


@bp.route("/mailboxes/new", methods=["GET", "POST"])
@domain_of_field("address")
def mailbox_create():
    """A new mailbox with a password, or with a one-time link for its owner to set one."""
    if request.method == "GET":
        return _new_page()
    form = request.form
    use_link = form.get("password_mode") == "link"

    def create():
        quota = mailboxes.parse_size_mb(form.get("quota", ""))
        password = None if use_link else form.get("password", "")
        return mailboxes.create_mailbox(db.session, actor(), form.get("address", ""),
                                        form.get("display_name", ""), password, quota)

    created, error = attempt(create)
    if error:
        return _new_page(error, 400)
    if created.link_token:
        return _link_page(created.mailbox, created.link_token)
    flash(_('Created %(address)s. It can sign in and receive mail now.',
            address=created.mailbox.address), "ok")
    return redirect(url_for("admin.mailbox_edit", address=created.mailbox.address))


def link_url(token: str) -> str:
    """The one-time set-password link of TOKEN, as its owner opens it (the API answers it too)."""
    return url_for("welcome.set_password", token=token, _external=True)


def _link_page(mailbox: Mailbox, token: str):
    return render_template("admin/mailbox_link.html", mailbox=mailbox, url=link_url(token),
                           days=links.VALID_FOR.days)


def _edit_page(mailbox: Mailbox, error: str = "", form=None, status: int = 200):
    values = form or {
        "display_name": mailbox.display_name, "enabled": mailbox.enabled,
        "quota": mailbox.quota_mb or "", "junk_days": "" if mailbox.junk_days is None
        else mailbox.junk_days, "forward_address": mailbox.forward_address or "",
        "forward_keep_copy": mailbox.forward_keep_copy,
    }
    return render_template(
        "admin/mailbox.html", mailbox=mailbox, values=values, error=error,
        is_server_admin=admin_roles.is_server_admin(db.session, mailbox),
        two_factor=twofactor.is_on(db.session, mailbox.address),
        default_quota=config()["DEFAULT_QUOTA_MB"],
    ), status


@bp.route("/mailboxes/<path:address>", methods=["GET", "POST"])
@owns("mailbox")
def mailbox_edit(mailbox: Mailbox):
    """Name, mail access, quota, Junk retention and forwarding of one mailbox."""
    if request.method == "GET":
        return _edit_page(mailbox)
    form = {key: request.form.get(key, "") for key in EDIT_FIELDS}
    form.update(enabled=checked("enabled"), forward_keep_copy=checked("forward_keep_copy"))

    def update():
        return mailboxes.update_mailbox(
            db.session, actor(), mailbox, display_name=form["display_name"],
            enabled=form["enabled"], quota_mb=mailboxes.parse_size_mb(form["quota"]),
            junk_days=mailboxes.parse_days(form["junk_days"]),
            forward_address=form["forward_address"],
            forward_keep_copy=form["forward_keep_copy"])

    was_enabled = mailbox.enabled
    _saved, error = attempt(update)
    if error:
        return _edit_page(mailbox, error, form, 400)
    if was_enabled and not mailbox.enabled:
        mailstore.kick(config(), mailbox.address)
    flash(_('Saved %(address)s. Dovecot and Postfix use it from the next login or message on.',
            address=mailbox.address), "ok")
    return redirect(url_for("admin.mailbox_edit", address=mailbox.address))


@bp.route("/mailboxes/<path:address>/protocols", methods=["POST"])
@owns("mailbox")
def mailbox_protocols(mailbox: Mailbox):
    """Allow or refuse IMAP and POP3 logins (open sessions on a refused one end)."""
    imap, pop3 = checked("imap"), checked("pop3")
    turned_off, error = attempt(lambda: mailboxes.set_protocols(db.session, actor(), mailbox,
                                                                 imap=imap, pop3=pop3))
    if error:
        return _edit_page(mailbox, error, status=400)
    if turned_off:
        mailstore.kick(config(), mailbox.address)
    shown = ", ".join(name for name, on in (("IMAP", imap), ("POP3", pop3)) if on) or "neither IMAP nor POP3"
    flash(_('Saved %(address)s: %(shown)s from the next login on.',
            address=mailbox.address, shown=shown), "ok")
    return redirect(url_for("admin.mailbox_edit", address=mailbox.address))


@bp.route("/mailboxes/<path:address>/password", methods=["POST"])
@owns("mailbox")
def mailbox_password(mailbox: Mailbox):
    """Set a new password (the mailbox's web sessions end)."""
    password = request.form.get("password", "")
    if password != request.form.get("password_again", ""):
        return _edit_page(mailbox, _("The two passwords differ: type the same one twice."),
                          status=400)
    _set, error = attempt(lambda: mailboxes.set_password(db.session, actor(), mailbox, password))
    if error:
        return _edit_page(mailbox, error, status=400)
    mailstore.kick(config(), mailbox.address)
    flash(_('New password set for %(address)s; it works for IMAP and SMTP at once.',
            address=mailbox.address), "ok")
    return redirect(url_for("admin.mailbox_edit", address=mailbox.address))


@bp.route("/mailboxes/<path:address>/two-factor", methods=["POST"])
@owns("mailbox")
def mailbox_two_factor_reset(mailbox: Mailbox):
    """Turn the mailbox's two-factor sign-in off (its owner lost the phone and the codes)."""
    return save(lambda: twofactor.reset(db.session, actor(), mailbox),
                lambda error: _edit_page(mailbox, error, status=400),
                _('Two-factor sign-in of %(address)s is off: its owner signs in with the password '
                  'alone and can set it up again.',
                  address=mailbox.address), "admin.mailbox_edit", address=mailbox.address)


@bp.route("/mailboxes/<path:address>/link", methods=["POST"])
@owns("mailbox")
def mailbox_link(mailbox: Mailbox):
    """A fresh one-time set-password link (earlier links stop working)."""
    token, error = attempt(lambda: links.new_link(db.session, actor(), mailbox))
    if error:
        return _edit_page(mailbox, error, status=400)
    return _link_page(mailbox, token)


@bp.route("/mailboxes/<path:address>/server-admin", methods=["POST"])
@server_admin_required
@owns("mailbox")
def mailbox_server_admin(mailbox: Mailbox):
    """Make the mailbox a server admin, or take that role away."""
    grant = checked("server_admin")
    return save(lambda: admin_roles.set_server_admin(db.session, actor(), mailbox, grant),
                lambda error: _edit_page(mailbox, error, status=400),
                (_('%(address)s is now a server admin.', address=mailbox.address) if grant else
                 _('%(address)s is no longer a server admin.', address=mailbox.address)),
                "admin.mailbox_edit", address=mailbox.address)


@bp.route("/mailboxes/<path:address>/delete", methods=["GET", "POST"])
@owns("mailbox")
def mailbox_delete(mailbox: Mailbox):
    """Delete in two steps; erasing the stored mail needs its own confirmation."""
    refs = mailboxes.references(db.session, mailbox.address)
    page = {"mailbox": mailbox, "refs": refs, "home": mailstore.mail_home(config(), mailbox.address)}
    if request.method == "GET":
        return render_template("admin/mailbox_delete.html", **page)
    erase = request.form.get("mail") == "erase"
    if erase and request.form.get("confirm_erase", "").strip().lower() != mailbox.address:
        status = 400 if "confirm_erase" in request.form else 200
        error = _('Type %(address)s to confirm that its mail is erased.',
                  address=mailbox.address) if status == 400 else ""
        return render_template("admin/mailbox_erase.html", error=error, **page), status
    address = mailbox.address
    job, error = attempt(lambda: mailboxes.delete_mailbox(db.session, actor(), mailbox, erase,
                                                          page["home"]))
    if error:
        return render_template("admin/mailbox_delete.html", error=error, **page), 400
    mailstore.kick(config(), address)
    flash(_('Deleted %(address)s. Its mail is being %(it)s (job %(id)s).',
            address=address, it="erased" if erase else
          _("moved to the archive, where a server admin can restore it"), id=job.id), "ok")
    return redirect(url_for("admin.mailbox_list"))



# --- Reading a mailbox through the master user (issue 14 item 3) ---


@bp.route("/mailboxes/<path:address>/open", methods=["POST"])
@server_admin_required
@owns("mailbox")
def mailbox_open(mailbox: Mailbox):
    """Open the webmail as this mailbox through the master login (audited); the admin's
    own session waits behind it (POST /return)."""
    enabled = settings.current(db.session, config()).master_user
    try:
        opened = reading.open_mailbox(db.session, imap_settings(), mailbox.address,
                                      request.form.get("master_password", ""), enabled, actor(),
                                      client_ip(), config()["SIGNIN_TIMEOUT"])
    except (MailError, ServiceError) as exc:
        db.session.rollback()
        return _edit_page(mailbox, str(exc), status=400)
    begin_reading(opened)
    flash(_("You are reading %(address)s's mailbox.", address=mailbox.address), "ok")
    return redirect(url_for("webmail.index"))
