"""DKIM signing, one key per domain: the key, the switch, and the DNS record to publish.

The key is created and kept by the privileged helper (stack/dkim.py): turning signing
on creates it once, turning it off keeps it (the published record stays valid) until
an admin removes it. The public key is read from the key file each time, never
stored, so the record shown always matches what Rspamd signs with. Turning signing on
or off is stored, then the helper renders Rspamd's configuration from the database,
has `rspamadm configtest` check it and reloads Rspamd; if Rspamd refuses it, the switch
is set back and Rspamd keeps the configuration it had.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.mail.errors import MailError
from core.models import Domain
from core.services.access import audit
from core.services.errors import Refused
from core.services.server import mailstore

log = logging.getLogger(__name__)
# RFC 1035 3.3: one character-string of a TXT record holds at most 255 bytes; a longer
# value is published as several strings, which verifiers join (RFC 6376 3.6.2.2).
TXT_STRING_BYTES = 255


@dataclass(frozen=True)
class DkimRecord:
    """One domain's signing state and key, e.g.
    DkimRecord("example.test", True, "default", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA...")."""

    domain: str
    enabled: bool
    selector: str
    public_key: str | None  # base64; None while the domain has no key

    @property
    def name(self) -> str:
        """The DNS name of the record: default._domainkey.example.test."""
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def value(self) -> str:
        """The record's text as one string (RFC 6376 3.6.1 tags)."""
        return f"v=DKIM1; k=rsa; p={self.public_key}"

    @property
    def txt(self) -> str:
        """The value as quoted strings of at most 255 bytes, ready for a zone file."""
        return " ".join(f'"{part}"' for part in txt_strings(self.value))

    def as_json(self) -> dict:
        """What `dkim show --json` prints."""
        has_key = self.public_key is not None
        return {"domain": self.domain, "enabled": self.enabled, "selector": self.selector,
                "name": self.name, "txt": self.txt if has_key else None, "key": has_key}


def txt_strings(value: str) -> list[str]:
    """VALUE (ASCII) cut into character-strings of at most 255 bytes."""
    data = value.encode("ascii")
    return [data[i:i + TXT_STRING_BYTES].decode("ascii")
            for i in range(0, len(data), TXT_STRING_BYTES)]


def _key(cfg: dict, domain: Domain, action: str) -> dict:
    """Ask the helper to read, create ("ensure") or remove DOMAIN's key, e.g.
    {"selector": "default", "public_key": "MIIBIjAN...", "created": False}."""
    return mailstore.call(cfg, "dkim_key", domain=domain.name, action=action)


def _record(domain: Domain, key: dict) -> DkimRecord:
    return DkimRecord(domain.name, bool(domain.dkim_enabled), key["selector"], key["public_key"])


def status(cfg: dict, domain: Domain) -> DkimRecord:
    """DOMAIN's signing state and key (MailError when the helper cannot be asked)."""
    return _record(domain, _key(cfg, domain, "read"))


def _snapshot(domain: Domain, has_key: bool) -> dict:
    """What the audit log keeps of a DKIM change."""
    return {"dkim_signing": bool(domain.dkim_enabled), "dkim_key": has_key}


def _reload_rspamd(cfg: dict) -> None:
    """Render Rspamd's configuration from the committed database, check it, reload Rspamd."""
    try:
        mailstore.call(cfg, "reload_rspamd")
    except MailError as exc:
        raise Refused(_l('Rspamd did not take the change: %(exc)s', exc=exc)) from exc


def set_signing(db: Session, cfg: dict, actor: str, domain: Domain, enabled: bool) -> DkimRecord:
    """Sign DOMAIN's submitted mail (creating its key the first time) or stop signing it.

    Commits, because the helper renders Rspamd's configuration from the database. If
    Rspamd refuses the result, the switch goes back (also in the audit log), Rspamd keeps
    its configuration, and Refused carries Rspamd's words.
    """
    try:
        key = _key(cfg, domain, "ensure" if enabled else "read")
    except MailError as exc:
        raise Refused(_l('The DKIM key of %(unicode_name)s could not be prepared: %(exc)s',
                         unicode_name=domain.unicode_name, exc=exc)) from exc
    has_key = key["public_key"] is not None
    before = _snapshot(domain, has_key and not key["created"])
    domain.dkim_enabled = enabled
    after = _snapshot(domain, has_key)
    audit.record(db, actor, "update", "domain", domain.name, domain=domain.name,
                 before=before, after=after)
    db.commit()
    try:
        _reload_rspamd(cfg)
    except Refused:
        if before != after:
            _undo(db, cfg, actor, domain, after)
        raise
    return _record(domain, key)


def _undo(db: Session, cfg: dict, actor: str, domain: Domain, changed: dict) -> None:
    """Set DOMAIN's switch back after Rspamd refused the change, and re-render from it."""
    domain.dkim_enabled = not domain.dkim_enabled
    audit.record(db, actor, "update", "domain", domain.name, domain=domain.name, before=changed,
                 after={**changed, "dkim_signing": bool(domain.dkim_enabled),
                        "undone": "Rspamd refused the configuration"})
    db.commit()
    try:
        _reload_rspamd(cfg)  # the files Rspamd reads match the database again
    except Refused as exc:
        log.warning("after undoing DKIM for %s, Rspamd still refuses: %s", domain.name, exc)


def remove_key(db: Session, cfg: dict, actor: str, domain: Domain) -> DkimRecord:
    """Delete DOMAIN's key (signing must be off); its DNS record then signs nothing."""
    if domain.dkim_enabled:
        raise Refused(_l('DKIM signing is on for %(unicode_name)s: turn it off before removing its '
                         'key.', unicode_name=domain.unicode_name))
    try:
        if _key(cfg, domain, "read")["public_key"] is None:
            raise Refused(_l('%(unicode_name)s has no DKIM key.', unicode_name=domain.unicode_name))
        after = _key(cfg, domain, "remove")
    except MailError as exc:
        raise Refused(_l('The DKIM key of %(unicode_name)s could not be removed: %(exc)s',
                         unicode_name=domain.unicode_name, exc=exc)) from exc
    audit.record(db, actor, "update", "domain", domain.name, domain=domain.name,
                 before=_snapshot(domain, True),
                 after=_snapshot(domain, after["public_key"] is not None))
    return _record(domain, after)
