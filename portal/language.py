"""The language of the pages: the person's choice, else the browser's, else English.

Signed in, the choice is stored with the person's preferences (Settings → Language) and also
used for the mail Mailroom writes them; on the sign-in page it is kept in a cookie.
"""
from __future__ import annotations

import pytz
from flask import current_app, flash, has_request_context, redirect, render_template, request, url_for
from flask.json.provider import DefaultJSONProvider
from flask_babel import LazyString, get_locale, gettext, refresh
from flask_login import current_user, login_required

from core.extensions import db
from core.services.mail import identities

from .auth.blueprint import bp as auth_bp
from .blueprint import bp
from .navigation import local_path

# Each language in its own words: a person who cannot read the current one finds theirs.
LANGUAGES = {"en": "English", "it": "Italiano", "de": "Deutsch"}
DEFAULT = "en"
# English is written British here (house style): dates as "3 March 2026, 09:12".
LOCALES = {"en": "en_GB", "it": "it", "de": "de"}
LANG_COOKIE = "lang"
TZ_COOKIE = "tz"  # set by static/js/app.js from the browser's time zone


def chosen_language() -> str:
    """The language the person chose (stored, or the sign-in page's cookie), or ""."""
    if current_user.is_authenticated:
        return identities.language(db.session, current_user.address)
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in LANGUAGES else ""


def select_locale() -> str:
    """Flask-Babel's locale selector; commands outside a request (the CLI) speak English."""
    if not has_request_context():
        return LOCALES[DEFAULT]
    return LOCALES[chosen_language() or request.accept_languages.best_match(LANGUAGES) or DEFAULT]


def select_timezone() -> str | None:
    """The browser's time zone, when it has told us (else Flask-Babel's default, UTC).

    Flask-Babel converts with pytz, so the name must be one pytz knows."""
    if not has_request_context():
        return None
    zone = request.cookies.get(TZ_COOKIE, "")
    return zone if zone in pytz.all_timezones_set else None


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, writing a translated message as the text it reads as (Flask would write
    its __html__, the escaped form, for a script to show as "&amp;")."""

    @staticmethod
    def default(o):
        return str(o) if isinstance(o, LazyString) else DefaultJSONProvider.default(o)


def _language_from_form() -> str:
    language = request.form.get("language", "")
    return language if language in LANGUAGES or language == "" else DEFAULT


@bp.route("/language", methods=["GET", "POST"])
@login_required
def language_page():
    """Choose the language of the pages and of the mail Mailroom writes (vacation reply text)."""
    if request.method == "POST":
        identities.save_language(db.session, current_user.address, _language_from_form())
        db.session.commit()
        refresh()  # this request's flash message already in the new language
        flash(gettext("The language is saved."), "ok")
        return redirect(url_for(".language_page"))
    return render_template("portal/language.html", languages=LANGUAGES,
                           chosen=identities.language(db.session, current_user.address))


@auth_bp.route("/language", methods=["POST"])
def language_cookie():
    """The sign-in page's language choice, kept in a cookie for a year."""
    response = redirect(local_path(request.form.get("next"), url_for("auth.login")))
    language = _language_from_form()
    if language:
        response.set_cookie(LANG_COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
    else:
        response.delete_cookie(LANG_COOKIE)
    return response


@bp.app_context_processor
def _languages():
    return {"languages": LANGUAGES, "page_language": get_locale().language}


def _ui_text() -> dict[str, str]:
    """The words static/js/*.js shows, in the page's language; "{name}" is filled in by the script."""
    return {
        "theme.auto": gettext("Auto"), "theme.light": gettext("Light"), "theme.dark": gettext("Dark"),
        "theme.label": gettext("Colour theme: {theme}. Change"),
        "copy.done": gettext("Copied to the clipboard."),
        "copy.manual": gettext("Selected: press Ctrl+C (⌘C on a Mac) to copy it."),
        "upload.failed": gettext("The upload failed ({status})."),
        "upload.interrupted": gettext("The upload was interrupted. Check the connection and try again."),
        "attachment.not_removed": gettext("The attachment could not be removed."),
        "attachment.uploading": gettext("Uploading…"), "attachment.uploading_name": gettext("Uploading {name}"),
        "attachment.attached": gettext("Attached"), "attachment.remove": gettext("Remove"),
        # The server's own words for these (webmail/format.py, _compose_attachments.html).
        "attachment.remove_name": gettext("Remove %(filename)s", filename="{name}"),
        "size.b": gettext("%(size)s B", size="{size}"), "size.kb": gettext("%(size)s KB", size="{size}"),
        "size.mb": gettext("%(size)s MB", size="{size}"),
        "send.sending": gettext("Sending…"), "send.scheduling": gettext("Scheduling…"),
        "suggestion.group": gettext("group"),
        "draft.saved": gettext("Draft saved at {time}."),
        "draft.not_saved": gettext("The draft could not be saved."),
        "draft.no_answer": gettext("The draft could not be saved: the server did not answer."),
        "draft.discard": gettext("Discard this message and its saved draft?"),
        "send.wait_uploads": gettext("Wait until the attachments are uploaded, then send."),
        "send.anyway": gettext("{reminder} Send it anyway?"),
        "suggestions.for": gettext("Suggestions for {label}"),
        "preview.unavailable": gettext("The preview is not available right now."),
        "quote.show": gettext("Show quoted text"), "quote.hide": gettext("Hide quoted text"),
        "notify.granted": gettext("This browser shows notifications from Mailroom."),
        "notify.denied": gettext("This browser blocks notifications from Mailroom: allow them in its "
                                 "settings for this site."),
        "notify.default": gettext("This browser has not been allowed to show notifications yet."),
        "notify.unsupported": gettext("This browser cannot show notifications; the unread count still "
                                      "shows in the title."),
        "notify.new_mail": gettext("New mail from {sender}"),
        "notify.new_mail_in": gettext("New mail in {folder} from {sender}"),
        "notify.no_subject": gettext("(no subject)"),
    }


@bp.app_context_processor
def _script_text():
    return {"ui_text": _ui_text}
