"""Helpers for the admin area's tests: signed-in admins, forms, SMTP from chosen addresses."""
from __future__ import annotations

import smtplib
import time
import uuid
from pathlib import Path

from tests.helpers import csrf_token, message, new_domain_admin, new_server_admin, signed_in_client

# Issue 6's own loopback addresses (Dovecot's auth penalty and mynetworks are per IP).
OUTSIDE = "127.0.0.50"
IMAP_FAIL_IP = "127.0.0.51"
SMTP_FAIL_IP = "127.0.0.52"
WEB_IP = "127.0.0.53"


def unique(prefix: str = "x") -> str:
    """A short name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class AdminClient:
    """A Flask test client signed in as ADDRESS, posting forms with the CSRF token."""

    def __init__(self, app, address: str, ip: str = WEB_IP) -> None:
        self.address = address
        self.client = signed_in_client(app, address, ip=ip)
        self.ip = ip
        # Every signed-in page (a 403 page too) carries the sign-out form and its token.
        self.token = csrf_token(self.get("/admin/domains").get_data(as_text=True))

    def get(self, url: str):
        """GET URL."""
        return self.client.get(url, environ_base={"REMOTE_ADDR": self.ip})

    def post(self, url: str, data: dict | None = None):
        """POST the form DATA (lists become repeated fields) with the CSRF token."""
        return self.client.post(url, data={**(data or {}), "csrf_token": self.token},
                                environ_base={"REMOTE_ADDR": self.ip})

    def text(self, url: str) -> str:
        """The body of GET URL, which must answer 200."""
        response = self.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_data(as_text=True)


def server_admin(app, stack_db, domain: str) -> AdminClient:
    """A new mailbox made server admin, signed in."""
    return AdminClient(app, new_server_admin(stack_db, domain, "root"))


def domain_admin(app, stack_db, domain: str, of: str) -> AdminClient:
    """A new mailbox on DOMAIN made admin of the domain OF, signed in."""
    return AdminClient(app, new_domain_admin(stack_db, domain, of))


def smtp_from(cfg: dict, source: str = "127.0.0.1") -> smtplib.SMTP:
    """A connection to the inbound SMTP port from SOURCE (127.0.0.1 is in mynetworks)."""
    return smtplib.SMTP(cfg["LISTEN_ADDRESS"], cfg["SMTP_PORT"], local_hostname="localhost",
                        timeout=30, source_address=(source, 0))


def send_inbound(cfg: dict, to: str, subject: str, source: str = "127.0.0.1",
                 sender: str = "someone@outside.test") -> None:
    """Deliver a message as another mail server would."""
    with smtp_from(cfg, source) as conn:
        conn.send_message(message(sender, to, subject))


def rcpt(cfg: dict, to: str, source: str = OUTSIDE) -> tuple[int, bytes]:
    """Postfix's answer to RCPT TO:<TO> from SOURCE."""
    with smtp_from(cfg, source) as conn:
        conn.ehlo()
        conn.mail("someone@outside.test")
        return conn.rcpt(to)


def maildir(cfg: dict, address: str) -> Path:
    """Where ADDRESS's mail lives on disk."""
    local, _, domain = address.partition("@")
    return Path(cfg["STACK_DIR"]) / "mail" / domain / local / "Maildir"


def archived(cfg: dict, address: str) -> list[Path]:
    """The archive folders of a deleted ADDRESS's mail (MAIL_ROOT/.archive/DOMAIN/LOCAL-TIME-JOB)."""
    local, _, domain = address.partition("@")
    return list((Path(cfg["STACK_DIR"]) / "mail" / ".archive" / domain).glob(f"{local}-*"))


def wait_until(check, timeout: float = 20.0, step: float = 0.2) -> bool:
    """Poll CHECK() until it is true or TIMEOUT passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False
