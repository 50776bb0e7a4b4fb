"""Vacation reply, forwarding, and spam handling: one form each."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from core.extensions import db
from core.services.personal import filters, forwarding, junk, vacation

from .blueprint import bp
from .outcome import Outcome, attempt
from .stores import sieve_store


def _vacation_form() -> dict:
    form = request.form.to_dict()
    form["addresses"] = request.form.getlist("addresses")
    return form


def _as_form(reply) -> dict:
    """A stored reply in the shape of the posted form."""
    return {"enabled": reply.enabled, "subject": reply.subject, "message": reply.message,
            "days": reply.days, "addresses": reply.addresses,
            "start": reply.start.isoformat() if reply.start else "",
            "end": reply.end.isoformat() if reply.end else ""}


def _vacation_page(reply: dict, allowed: list[str], outcome: Outcome | None = None,
                   hand_edited: bool = False):
    outcome = outcome or Outcome()
    return render_template("portal/vacation.html", reply=reply, allowed=allowed,
                           errors=outcome.errors, confirm=outcome.confirm,
                           limit=vacation.MESSAGE_LIMIT, max_days=vacation.MAX_DAYS,
                           hand_edited=hand_edited), outcome.status


@bp.route("/vacation", methods=["GET", "POST"])
@login_required
def vacation_page():
    """On/off, subject, message, first and last day, interval and addresses."""
    allowed = vacation.own_addresses(db.session, current_user.address)
    if request.method == "GET":
        with sieve_store() as store:
            state = filters.load(store)
        return _vacation_page(_as_form(vacation.current(state)), allowed,
                              hand_edited=state.ruleset is None)
    form = _vacation_form()
    checked = []

    def work():
        checked.append(vacation.check(form, allowed))
        with sieve_store() as store:
            vacation.save(store, filters.load(store), checked[0],
                          confirmed=form.get("confirm") == "yes")

    # ManageSieve is only reached inside work(): if it is down, the form comes back filled in.
    outcome = attempt(work)
    if outcome.ok:
        flash(_("Vacation reply switched on.") if checked[0].enabled else _("Vacation reply is off."), "ok")
        return redirect(url_for(".vacation_page"))
    return _vacation_page(form, allowed, outcome)


def _commit(work) -> Outcome:
    """Run a database change; commit it when it went through, roll back otherwise."""
    outcome = attempt(work)
    if outcome.ok:
        db.session.commit()
    else:
        db.session.rollback()
    return outcome


@bp.route("/forwarding", methods=["GET", "POST"])
@login_required
def forwarding_page():
    """Forward all mail to one address, keeping a copy or not."""
    if request.method == "GET":
        current = forwarding.get_forwarding(db.session, current_user.address, current_app.config)
        return render_template("portal/forwarding.html", target=current.target or "",
                               keep=current.keep_copy, active=bool(current.target), errors={})
    stop = "stop" in request.form
    target = "" if stop else request.form.get("target", "")
    keep = "keep" in request.form
    outcome = _commit(lambda: forwarding.set_forwarding(db.session, current_user.address,
                                                        target or None, keep, current_app.config))
    if outcome.ok:
        flash(_('All mail is now forwarded to %(target)s.',
                target=target.strip()) if target.strip() else _("Forwarding is off."), "ok")
        return redirect(url_for(".forwarding_page"))
    return render_template("portal/forwarding.html", target=target, keep=keep,
                           active=False, errors=outcome.errors), outcome.status


@bp.route("/junk", methods=["GET", "POST"])
@login_required
def junk_page():
    """Move spam to Junk, and how many days Junk keeps messages."""
    current = junk.get_junk(db.session, current_user.address, current_app.config)
    if request.method == "GET":
        mode = "default" if current.days is None else "never" if current.days == 0 else "days"
        return render_template("portal/junk.html", current=current, mode=mode,
                               spam_to_junk=current.spam_to_junk, days=current.days or "",
                               errors={})
    mode, days = request.form.get("mode", "default"), request.form.get("days", "")
    value = {"default": None, "never": 0}.get(mode, days)
    spam_to_junk = "spam_to_junk" in request.form
    outcome = _commit(lambda: junk.set_junk(db.session, current_user.address, spam_to_junk, value,
                                            current_app.config))
    if outcome.ok:
        flash(_("Spam handling saved; it applies to the next message."), "ok")
        return redirect(url_for(".junk_page"))
    return render_template("portal/junk.html", current=current, mode=mode, days=days,
                           spam_to_junk=spam_to_junk, errors=outcome.errors), outcome.status
