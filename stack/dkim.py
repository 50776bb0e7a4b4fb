"""DKIM signing keys, one per domain, and the list of domains Rspamd signs for.

Keys are RSA 2048 (RFC 8301 asks for at least 1024; 2048 still fits a DNS TXT record),
kept as STACK_DIR/lib/dkim/DOMAIN.default.key, root:_rspamd 0640 in a root:_rspamd 0750
folder: Rspamd reads them, the web app never does. Only the privileged helper creates
or removes them (stack/privileged.py), with a path it derives from a domain name that
is in the database. The public half is never stored: it is read from the key itself,
so the DNS record shown is always the one that matches what Rspamd signs with.

Where signing happens (master.cf, local.d/settings.conf, local.d/dkim_signing.conf):
submitted mail is scanned by Rspamd at submission, then goes through the disclaimer
filter, which may add a MIME part, and comes back on the re-injection service. A
signature made at submission would no longer verify after that, so the re-injection
service passes each message through Rspamd once more under the milter daemon name
PASS_NAME, for which Rspamd runs DKIM signing and nothing else, and nowhere else.
"""
from __future__ import annotations

import base64
import logging
import os
import tempfile
from pathlib import Path

from . import perms
from .files import write_file
from .layout import Layout
from .quoting import domain_name, quote

log = logging.getLogger(__name__)
SELECTOR = "default"
KEY_BITS = 2048
# Rspamd runs as _rspamd (daemons.specs: -u _rspamd -g _rspamd).
RSPAMD_GROUP = "_rspamd"
# The milter daemon name of the re-injection service; Rspamd sees it as MTA-Name.
PASS_NAME = "mailroom-dkim-signing"


def keys_dir(layout: Layout) -> Path:
    """Where the signing keys live (backed up and restored with the database)."""
    return layout.lib / "dkim"


def domains_file(layout: Layout) -> Path:
    """The `domain { ... }` block of dkim_signing.conf, written from the database."""
    return layout.rspamd_etc / "dkim_domains.inc"


def key_path(layout: Layout, domain: str) -> Path:
    """DOMAIN's key file; DOMAIN must be a plain host name (it becomes part of a path)."""
    return keys_dir(layout) / f"{domain_name(domain).lower()}.{SELECTOR}.key"


def public_key(layout: Layout, domain: str) -> str | None:
    """The base64 public key (the p= of the DNS record) of DOMAIN's key; None without one."""
    from cryptography.hazmat.primitives import serialization

    try:
        pem = key_path(layout, domain).read_bytes()
    except FileNotFoundError:
        return None
    private = serialization.load_pem_private_key(pem, password=None)
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def ensure_key(layout: Layout, domain: str) -> bool:
    """Create DOMAIN's key unless it has one; True if it was created now."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    path = key_path(layout, domain)
    perms.ensure_dir(path.parent, 0o750, None, RSPAMD_GROUP)
    if path.exists():
        return False
    pem = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # 0600, ours alone
    partial = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        perms.set_owner(partial, 0o640, None, RSPAMD_GROUP)
        os.link(partial, path)  # never replaces a key that appeared meanwhile
    except FileExistsError:
        return False
    finally:
        partial.unlink(missing_ok=True)
    log.info("created DKIM key %s", path)
    return True


def remove_key(layout: Layout, domain: str) -> bool:
    """Delete DOMAIN's key; False when it had none."""
    try:
        key_path(layout, domain).unlink()
    except FileNotFoundError:
        return False
    log.info("removed the DKIM key of %s", domain)
    return True


def template_values(cfg: dict, layout: Layout) -> dict:
    """Values for the Postfix and Rspamd templates that set up the signing pass."""
    return {"dkim_pass": PASS_NAME, "dkim_pass_pattern": f"^{PASS_NAME}$",
            "dkim_sign_network": f"{cfg['LISTEN_ADDRESS']}/32", "dkim_domains": domains_file(layout)}


def domains_block(layout: Layout, domains: list[str]) -> str:
    """The `domain` section of dkim_signing.conf for DOMAINS (those with a key file)."""
    lines = ["# Written by Mailroom from the database: the domains whose submitted mail is signed.",
             "domain {"]
    for name in domains:
        path = key_path(layout, name)
        if not path.exists():
            log.warning("DKIM signing is on for %s, but it has no key (%s): not signed", name, path)
            continue
        lines.append(f"  {quote(name, 'ucl_key')} {{ path = {quote(path, 'ucl')}; "
                     f"selector = {quote(SELECTOR, 'ucl')}; }}")
    return "\n".join([*lines, "}", ""])


def after_render(layout: Layout) -> None:
    """Write the list of signing domains from the database (Rspamd reads it at (re)load)."""
    from sqlalchemy import select

    from core.db import transaction_at
    from core.models import Domain

    with transaction_at(layout.url) as session:
        names = list(session.scalars(select(Domain.name).where(Domain.dkim_enabled.is_(True))
                                     .order_by(Domain.name)))
    if write_file(domains_file(layout), domains_block(layout, names), 0o644):
        log.info("rewrote the DKIM signing domains: %s", ", ".join(names) or "none")
