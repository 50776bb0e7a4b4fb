"""The server settings' part of Dovecot's configuration, read from the database at render time.

Like stack/postfix_settings.py: `render_all` calls `template_values`, which reads the row
Admin → Server stores (core.models.server); the privileged helper's `apply_server_settings`
has `doveconf` read the result (stack/checks.py) and reloads Dovecot.
"""
from __future__ import annotations

from .layout import Layout

# Where "deleted mail goes to Trash" puts an expunged message: the special-use \Trash
# folder of dovecot.conf's inbox namespace.
TRASH = "Trash"


def template_values(cfg: dict, layout: Layout) -> dict:
    """Dovecot's lazy_expunge mailbox ('' leaves the plugin inactive), whether a
    password needs an encrypted (or loopback) connection, whether the master user may log in."""
    from core.db import transaction_at
    from core.models.server import server_settings

    with transaction_at(layout.url) as session:
        stored = server_settings(session, int(cfg["MESSAGE_SIZE_LIMIT_MB"]))
        return {
            "lazy_expunge_mailbox": TRASH if stored.deleted_to_trash else "",
            "disable_plaintext_auth": "no" if stored.allow_unencrypted else "yes",
            "master_user_enabled": 1 if stored.master_user else 0,
        }
