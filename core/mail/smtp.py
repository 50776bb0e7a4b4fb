"""SMTP store: submit as a user (submission port) or hand in system mail (inbound port)."""
from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from core.i18n import N_

from .tls import client_context
from .errors import AuthenticationFailed, PartiallyRefused, ServiceUnavailable, SmtpError

log = logging.getLogger(__name__)
SERVICE = N_("SMTP server (Postfix)")
# Without local_hostname smtplib may resolve the machine's name outside loopback.
HELO_NAME = "localhost"


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to reach an SMTP port."""

    host: str
    port: int
    tls: str = "starttls"  # none | starttls | ssl
    ca_file: str = ""
    timeout: float = 10.0

    @classmethod
    def submission(cls, cfg: dict) -> "SmtpSettings":
        """The authenticated submission port from the app's configuration."""
        return cls(cfg["SUBMISSION_HOST"], int(cfg["SUBMISSION_PORT"]), cfg["SUBMISSION_TLS"],
                   cfg["TLS_CA_FILE"], float(cfg["MAIL_TIMEOUT"]))

    @classmethod
    def inbound(cls, cfg: dict) -> "SmtpSettings":
        """The local stack's inbound port (trusts loopback, no authentication)."""
        return cls(cfg["LISTEN_ADDRESS"], int(cfg["SMTP_PORT"]), "none",
                   cfg["TLS_CA_FILE"], float(cfg["MAIL_TIMEOUT"]))

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying context trusting ca_file."""
        return client_context(self.ca_file)


def _open(settings: SmtpSettings) -> smtplib.SMTP:
    try:
        if settings.tls == "ssl":
            return smtplib.SMTP_SSL(settings.host, settings.port, local_hostname=HELO_NAME,
                                    timeout=settings.timeout, context=settings.ssl_context())
        conn = smtplib.SMTP(settings.host, settings.port, local_hostname=HELO_NAME,
                            timeout=settings.timeout)
        if settings.tls == "starttls":
            conn.starttls(context=settings.ssl_context())
        return conn
    except (OSError, smtplib.SMTPException) as exc:
        raise ServiceUnavailable(SERVICE, str(exc)) from exc


def probe(settings: SmtpSettings) -> None:
    """Greet the server (and start TLS as configured), then quit; ServiceUnavailable if it cannot."""
    conn = _open(settings)
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException) as exc:
        raise ServiceUnavailable(SERVICE, str(exc)) from exc


def send(settings: SmtpSettings, message: EmailMessage,
         login: tuple[str, str] | None = None, envelope_from: str | None = None,
         recipients: list[str] | None = None) -> None:
    """Send MESSAGE, authenticating with LOGIN (address, password) when given.

    ENVELOPE_FROM is the MAIL FROM address ('' for the null sender <>); None takes From.
    RECIPIENTS are the RCPT TO addresses; None takes To, Cc and Bcc.
    """
    conn = _open(settings)
    try:
        if login:
            conn.login(*login)
        refused = conn.send_message(message, from_addr=envelope_from, to_addrs=recipients)
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthenticationFailed("the mail server refused the sign-in") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise SmtpError(_refusals(exc.recipients)) from exc
    except smtplib.SMTPResponseException as exc:
        raise SmtpError(f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise ServiceUnavailable(SERVICE, str(exc)) from exc
    finally:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            conn.close()
    if refused:
        # RFC 5321 §3.3: the message went to everyone else; only these were refused.
        raise PartiallyRefused(_refusals(refused), list(refused))


def _refusals(recipients: dict) -> str:
    return "; ".join(
        f"{rcpt}: {code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
        for rcpt, (code, text) in recipients.items()
    )
