"""Mailroom: webmail, self-service portal and admin for a real mail server.

`create_app(config)` builds the Flask app; `python app.py` serves it with waitress.
"""
from __future__ import annotations

import logging
import os
import secrets
from datetime import timedelta

from flask import Flask, redirect, url_for

from core import cache, shared
from core.config import ConfigError, check_secret_key, load_config
from core.extensions import babel, csrf, db, limiter, login_manager
from core.i18n import lazy_gettext
from portal import https

log = logging.getLogger("mailroom")

SECURITY_HEADERS = {
    # The app's own pages: no inline script or style, nothing from elsewhere.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def create_app(config: dict | None = None) -> Flask:
    """Build the app from defaults, MAILROOM_* variables and CONFIG overrides."""
    app = Flask(__name__, static_folder="static", template_folder="templates")
    settings = load_config(config)
    _require_secret_key(settings)
    app.config.update(settings)
    app.config.update(
        TESTING=settings["ENV"] == "testing",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["COOKIE_SECURE"],
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings["SESSION_IDLE_MINUTES"]),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        # Uploads are refused from Content-Length before being read (compose checks
        # the message limit itself; this bounds every other request).
        MAX_CONTENT_LENGTH=(settings["MESSAGE_SIZE_LIMIT_MB"] + 5) * 1024 * 1024,
        # A composed body may be as large as a message (Flask's default is 500 kB).
        MAX_FORM_MEMORY_SIZE=settings["MESSAGE_SIZE_LIMIT_MB"] * 1024 * 1024,
        # Every app process counts guesses in the one shared store; while it is down,
        # each counts alone rather than not at all.
        RATELIMIT_STORAGE_URI=shared.store_url(settings),
        RATELIMIT_STORAGE_OPTIONS=shared.store_options(settings),
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
    )
    cache.set_budget(settings["CACHE_MB"] * 1024 * 1024)
    shared.configure(settings)
    _init_extensions(app)
    https.init_app(app)
    _register_blueprints(app)
    # Browsers ask for /favicon.ico on pages without a <link rel="icon"> (JSON, files).
    app.add_url_rule("/favicon.ico", "favicon", lambda: redirect(url_for("static", filename="img/favicon.svg"), 301))
    _register_cli(app)
    app.after_request(_security_headers)
    return app


def _require_secret_key(settings: dict) -> None:
    """Refuse a weak key, except for `flask` commands, which serve no sessions.

    `flask --app app stack up` is what generates the local stack's key, so the
    command line must work before a key exists; it gets a throw-away one.
    """
    try:
        check_secret_key(settings)
    except ConfigError:
        if not os.environ.get("FLASK_RUN_FROM_CLI"):
            raise
        settings["SECRET_KEY"] = secrets.token_urlsafe(48)


def _init_extensions(app: Flask) -> None:
    from portal.language import JSONProvider, select_locale, select_timezone

    db.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.json = JSONProvider(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please sign in to continue.")


def _register_blueprints(app: Flask) -> None:
    from api import bp as api_bp
    from portal import bp as portal_bp
    from portal.admin import bp as admin_bp
    from portal.admin.onboarding import bp as welcome_bp
    from portal.auth import bp as auth_bp
    from portal.autoconfig import bp as autoconfig_bp
    from portal.errors import bp as errors_bp
    from portal.health import bp as health_bp
    from webmail import bp as webmail_bp

    # The API first: its hook puts the token's owner in place before the others' hooks run.
    # Bearer tokens are never sent by a browser on its own: no CSRF token there.
    csrf.exempt(api_bp)
    for blueprint in (api_bp, errors_bp, health_bp, auth_bp, webmail_bp, portal_bp, admin_bp, welcome_bp,
                      autoconfig_bp):
        app.register_blueprint(blueprint)


def _register_cli(app: Flask) -> None:
    from core.api_token_cli import api_token_cli
    from core.backup_cli import backup_cli
    from core.cli import commands
    from core.directory_cli import directory_cli
    from core.dkim_cli import dkim_cli
    from core.queue_cli import queue_cli
    from core.settings_cli import settings_cli
    from core.smarthost_cli import smarthost_cli
    from core.spam_cli import spam_cli
    from core.track_cli import track_command
    from stack.cli import stack_cli

    for command in (*commands, dkim_cli, stack_cli, spam_cli, settings_cli, backup_cli, queue_cli,
                    track_command, smarthost_cli, directory_cli, api_token_cli):
        app.cli.add_command(command)


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def refuse_root(environ=os.environ) -> None:
    """Stop here when started as root: the web process parses hostile mail all day.

    MAILROOM_ALLOW_ROOT=1 lets a developer do it anyway on a machine of their own.
    """
    if os.geteuid() == 0 and environ.get("MAILROOM_ALLOW_ROOT") != "1":
        raise SystemExit(
            "Mailroom's web app does not run as root. Start it as the mailroom user "
            "(bash stack/demo.sh does: runuser -u mailroom -- .venv/bin/python app.py); "
            "what needs root goes through the stack's privileged helper. "
            "For development only, MAILROOM_ALLOW_ROOT=1 overrides this."
        )


def main() -> None:
    """Serve with waitress on MAILROOM_HOST:MAILROOM_PORT."""
    from waitress import serve

    refuse_root()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
    host, port = app.config["HOST"], app.config["PORT"]
    log.info("Mailroom serving on http://%s:%s/", host, port)
    # waitress buffers a body before the app sees it: cap it at what the app accepts.
    # New-mail streams hold a thread each for minutes: they get threads of their own
    # (webmail/events.py caps them at NOTIFY_STREAMS), so pages keep THREADS.
    threads = int(app.config["THREADS"]) + int(app.config["NOTIFY_STREAMS"])
    serve(app, host=host, port=port, threads=threads, ident="Mailroom",
          max_request_body_size=app.config["MAX_CONTENT_LENGTH"])


if __name__ == "__main__":
    main()
