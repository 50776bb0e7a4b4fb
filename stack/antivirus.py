"""The antivirus setting's part of the stack: Rspamd's antivirus module and Postfix's
milter fallback, read from the database at render time (like stack/postfix_settings.py).

With antivirus on, no message is delivered unscanned: Rspamd rejects a virus
(antivirus.conf, force_actions.conf), defers a message clamd did not answer for
(force_actions.conf: the module's CLAM_VIRUS_FAIL symbol), and Postfix defers mail
while Rspamd itself does not answer (`milter_default_action = tempfail`). Off, Rspamd
does not ask clamd and Postfix accepts mail when Rspamd is down, as before.
"""
from __future__ import annotations

from pathlib import Path

from core.mail import clamd

from .layout import CLAMD, Layout, SystemLayout


def template_values(cfg: dict, layout: Layout) -> dict:
    """antivirus.conf's `enabled` and clamd's address, main.cf's milter_default_action."""
    from core.db import transaction_at
    from core.models.server import server_settings

    with transaction_at(layout.url) as session:
        wanted = server_settings(session, int(cfg["MESSAGE_SIZE_LIMIT_MB"])).antivirus
    # A system install scans "if present": without Debian's clamav-daemon every message
    # would wait for a scanner that is not there.
    on = wanted and (not isinstance(layout, SystemLayout) or Path(CLAMD).exists())
    return {"antivirus": "true" if on else "false",
            "milter_default_action": "tempfail" if on else "accept",
            # The stack's own clamd on loopback TCP, or Debian's on its Unix socket.
            "clamd_server": clamd.ClamdSettings.from_config(cfg).where()}
