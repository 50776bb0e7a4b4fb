"""The demo domain: created once on the local stack, with logins printed for people to try."""
from __future__ import annotations

import json
import logging
import os
import secrets
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from core.db import db
from core.mail import smtp
from core.models import Mailbox
from core.services.access import roles
from core.services.errors import NotFound

from . import lookup

log = logging.getLogger(__name__)
DOMAIN = "example.test"
PEOPLE = (("admin", "admin", "Mailroom Admin"), ("anna", "user", "Anna Berg"),
          ("ben", "user", "Ben Okafor"))
WELCOME = """Hello {name},

welcome to Mailroom. This message came through the local Postfix, was checked
by Rspamd and delivered by Dovecot into your INBOX: the whole path works.

Try writing to the other demo users: {others}.
"""


def logins_file(cfg: dict) -> Path:
    """Where the demo logins are kept (root-only), e.g. /srv/mailroom/var/secrets/demo-logins.json."""
    return Path(cfg["DATA_DIR"]) / "secrets" / "demo-logins.json"


def ensure_demo(cfg: dict) -> list[dict]:
    """Create the demo domain, mailboxes and admin role once; return the logins."""
    path = logins_file(cfg)
    logins = json.loads(path.read_text()) if path.exists() else []
    created = []
    with db.transaction() as session:
        try:
            lookup.get_domain(session, DOMAIN)
        except NotFound:
            lookup.add_domain(session, DOMAIN)
        known = {login["address"] for login in logins}
        for local, role, name in PEOPLE:
            address = f"{local}@{DOMAIN}"
            if address in known and session.query(Mailbox).filter_by(address=address).count():
                continue
            password = secrets.token_urlsafe(12)
            lookup.add_mailbox(session, address, password, name)
            if role == "admin":
                roles.grant_server_admin(session, address)
            logins = [l for l in logins if l["address"] != address]
            logins.append({"role": role, "address": address, "password": password, "name": name})
            created.append((address, name))
    _save(path, logins)
    for address, name in created:
        _welcome(cfg, address, name, [l["address"] for l in logins if l["address"] != address])
    return logins


def _save(path: Path, logins: list[dict]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(logins, handle, indent=2)


def _welcome(cfg: dict, address: str, name: str, others: list[str]) -> None:
    msg = EmailMessage()
    msg["From"] = f"Mailroom <postmaster@{DOMAIN}>"
    msg["To"] = f"{name} <{address}>"
    msg["Subject"] = "Welcome to Mailroom"
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=DOMAIN)
    msg.set_content(WELCOME.format(name=name.split()[0], others=", ".join(others)))
    smtp.send(smtp.SmtpSettings.inbound(cfg), msg)
