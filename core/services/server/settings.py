"""The mail server's own settings (Admin → Server, `flask --app app settings`): check,
store, audit, apply.

Each value is parsed and checked here, stored in the server_settings row
(core.models.server) and made live by the privileged helper's `apply_server_settings`:
it renders Postfix's and Dovecot's files with the stored row into a scratch directory,
lets `postfix check` and `doveconf` read them, then renders the live files and reloads
the daemon(s) whose files changed (Postfix's master rereads main.cf, Dovecot's master
its configuration, Rspamd's antivirus module follows `rspamadm configtest`; no
connection is dropped). When one refuses, the previous values are stored again and the
error carries its own words. Antivirus is turned on only while clamd answers.

Applying needs the change committed (the helper reads the database), so `update`
commits its own transaction, unlike the directory's services.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.mail import clamd, privileged
from core.mail.errors import MailError, ServiceUnavailable
from core.models.server import ROW_ID, ServerSettings, sealed_secret, server_settings, store_secret
from core.services.access import audit
from core.services.errors import InvalidInput, ServiceError
from core.services.server import mailstore, master_user

from .settings_input import PARSERS

log = logging.getLogger(__name__)
# The command line's names for the settings (and the columns they are stored in).
KEYS = {
    "message-size-mb": "message_size_mb", "queue-lifetime-days": "queue_lifetime_days",
    "always-bcc": "always_bcc", "helo-name": "helo_name", "relay-networks": "relay_networks",
    "relay-trusted-networks": "relay_trusted_networks", "auth-on-port-25": "auth_on_port_25",
    "deleted-to-trash": "deleted_to_trash", "allow-unencrypted": "allow_unencrypted",
    "block-executables": "block_executables", "block-archives": "block_archives",
    "block-types": "block_types", "antivirus": "antivirus", "master-user": "master_user",
}
# The daemons that read each setting (the others are Postfix's alone); the helper reloads
# only a daemon whose rendered files changed.
READERS = {"deleted_to_trash": ("Dovecot",), "allow_unencrypted": ("Dovecot", "Postfix"),
           "antivirus": ("Postfix", "Rspamd"), "master_user": ("Dovecot",),
           **dict.fromkeys(("block_executables", "block_archives", "block_types"), ("Rspamd",))}


class InvalidSettings(InvalidInput):
    """Values that cannot be stored: ERRORS maps each setting (column) to what is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(map(str, errors.values())))
        self.errors = errors


class Rejected(ServiceError):
    """Postfix, Dovecot or Rspamd refused the configuration with the new values; the old ones are back."""


@dataclass(frozen=True)
class Outcome:
    """What `update` did: the changed settings, how long applying took, or why it is pending."""

    changed: dict[str, object] = field(default_factory=dict)
    detail: str = ""  # what the helper did, e.g. "postfix: reloaded (pid 4242)"
    seconds: float = 0.0
    pending: str = ""  # saved, but not live yet: why


def default_size_mb(cfg: dict) -> int:
    """MAILROOM_MESSAGE_SIZE_LIMIT_MB: the message size until an admin stores one."""
    return int(cfg["MESSAGE_SIZE_LIMIT_MB"])


def current(db: Session, cfg: dict) -> ServerSettings:
    """The stored settings, or the defaults."""
    return server_settings(db, default_size_mb(cfg))


def message_size_mb(db: Session, cfg: dict) -> int:
    """The largest message Postfix accepts, in MB (compose keeps to it too)."""
    return current(db, cfg).message_size_mb


def parse(texts: dict[str, str]) -> dict[str, object]:
    """Stored values from what was typed, by column; InvalidSettings names every bad one."""
    values, errors = {}, {}
    for name, text in texts.items():
        if name not in PARSERS:
            raise InvalidInput(_l('There is no server setting %(name)s.', name=f"{name!r}"))
        try:
            values[name] = PARSERS[name](text)
        except InvalidInput as exc:
            errors[name] = str(exc)
    if errors:
        raise InvalidSettings(errors)
    return values


def update(db: Session, cfg: dict, texts: dict[str, str], actor: str,
           secrets: dict[str, bytes | None] | None = None) -> Outcome:
    """Check, store (audited as ACTOR's change) and apply the settings in TEXTS (column ->
    text) and the sealed SECRETS (name -> sealed blob, None removes it); Rejected, with the
    old values stored again, if Postfix or Dovecot refuses them."""
    values = parse(texts)
    if values.get("master_user") and not master_user.has_password(db):
        raise InvalidSettings({"master_user": master_user.NO_PASSWORD})
    row = db.get(ServerSettings, ROW_ID)
    if row is None:
        row = current(db, cfg)
        db.add(row)
    if values.get("antivirus") and not row.antivirus:
        _require_scanner(cfg)
    stored = {name: getattr(row, name) for name in PARSERS}
    kept = {name: sealed_secret(db, name) for name in secrets or {}}
    before = row.values()
    for name, value in values.items():
        setattr(row, name, value)
    changed = {k: v for k, v in row.values().items() if before[k] != v}
    for name, sealed in (secrets or {}).items():
        if sealed != kept[name]:
            store_secret(db, name, sealed)
            before[name] = "set" if kept[name] else "none"  # the audit never holds a secret
            changed[name] = "replaced" if sealed else "removed"
    if not changed:
        db.rollback()
        return Outcome()
    audit.record(db, actor, "update", "server", "settings", before={k: before[k] for k in changed},
                 after=changed)
    db.commit()
    try:
        began = time.monotonic()
        detail = mailstore.call(cfg, "apply_server_settings")
    except ServiceUnavailable as exc:  # stored: `stack up` renders it
        return Outcome(changed, pending=str(exc))
    except privileged.Refused as exc:
        _undo(db, cfg, row, (stored, kept), before, changed, actor)
        raise Rejected(_l('%(changed)s refused the new settings, so the previous ones stay in '
                          'place. %(exc)s', changed=' or '.join(reloaded(changed)), exc=exc)) from exc
    seconds = time.monotonic() - began
    log.info("server settings %s live after %.2f s (%s)", sorted(changed), seconds, detail)
    return Outcome(changed, str(detail), seconds)


def _require_scanner(cfg: dict) -> None:
    """InvalidSettings unless clamd answers: with antivirus on and no scanner, Rspamd
    would defer every message."""
    try:
        clamd.ping(clamd.ClamdSettings.from_config(cfg))
    except ServiceUnavailable as exc:
        raise InvalidSettings({"antivirus": _l('Antivirus stays off: %(exc)s. Start it (`flask '
                                               '--app app stack up`; on a system install: '
                                               'systemctl start clamav-daemon) and try again.',
                                               exc=exc)}) from exc


def reloaded(changed: dict) -> list[str]:
    """The daemons that CHANGED settings are applied to, e.g. ['Dovecot', 'Postfix']."""
    return sorted({daemon for name in changed for daemon in READERS.get(name, ("Postfix",))})


def _undo(db: Session, cfg: dict, row: ServerSettings, stored: tuple[dict, dict], before: dict,
          changed: dict, actor: str) -> None:
    """Store the STORED columns and sealed secrets again (audited: CHANGED back to BEFORE)
    and apply them."""
    columns, secrets = stored
    for name, value in columns.items():
        setattr(row, name, value)
    for name, sealed in secrets.items():
        store_secret(db, name, sealed)
    audit.record(db, actor, "update", "server",
                 f"settings (undone: {' or '.join(reloaded(changed))} refused)",
                 before=changed, after={k: before[k] for k in changed})
    db.commit()
    try:  # the live files are unchanged unless the reload itself failed: make sure
        mailstore.call(cfg, "apply_server_settings")
    except MailError as exc:
        log.error("the previous server settings could not be applied again: %s", exc)
