"""The typed errors every mail store raises."""
from __future__ import annotations

from core.i18n import lazy_gettext as _l

# Each store names the daemon that did not answer in English (its SERVICE, for logs and the
# CLI); `ServiceUnavailable.name` is that name in the reader's language, for pages.
SERVICE_NAMES = {
    "IMAP server (Dovecot)": _l("IMAP server (Dovecot)"),
    "ManageSieve server (Dovecot)": _l("ManageSieve server (Dovecot)"),
    "mail server (Dovecot)": _l("mail server (Dovecot)"),
    "Dovecot user database (for sieve-test)": _l("Dovecot user database (for sieve-test)"),
    "SMTP server (Postfix)": _l("SMTP server (Postfix)"),
    "Rspamd (spam filter)": _l("Rspamd (spam filter)"),
    "Redis (the spam filter's Bayes store)": _l("Redis (the spam filter's Bayes store)"),
    "The virus scanner (clamd)": _l("virus scanner (clamd)"),
    "address book service (Radicale)": _l("address book service (Radicale)"),
    "user directory": _l("user directory"),
    "the privileged helper (the stack's worker)": _l("privileged helper (the stack's worker)"),
}


class MailError(Exception):
    """Something went wrong talking to the mail system."""


class ServiceUnavailable(MailError):
    """A daemon does not answer; `service` names it for the error page."""

    def __init__(self, service: str, detail: str = "") -> None:
        super().__init__(f"{service} is unreachable{': ' + detail if detail else ''}")
        self.service = service
        self.detail = detail

    @property
    def name(self) -> str:
        """The daemon's name in the reader's language ('server IMAP (Dovecot)')."""
        return SERVICE_NAMES.get(self.service, self.service)


class AuthenticationFailed(MailError):
    """The mail server refused the address and password."""


class LoginDelayed(MailError):
    """The server held back its answer to a login: it delays a client address that failed."""


class ImapError(MailError):
    """The IMAP server answered NO or BAD."""


class SmtpError(MailError):
    """The SMTP server refused the message."""


class PartiallyRefused(SmtpError):
    """The server took the message for some recipients and refused the others."""

    def __init__(self, message: str, refused: list[str]) -> None:
        super().__init__(message)
        self.refused = refused


class SieveError(MailError):
    """ManageSieve refused a script or a command."""


class SpamFilterError(MailError):
    """Rspamd's controller refused a request."""


class NotFoundError(MailError):
    """The folder or message asked for does not exist."""
