"""The typed errors every mail store raises."""
from __future__ import annotations

from core.i18n import LazyText, lazy_gettext


class MailError(Exception):
    """Something went wrong talking to the mail system."""


class ServiceUnavailable(MailError):
    """A daemon does not answer; `service` names it for the error page."""

    def __init__(self, service: str, detail: str = "") -> None:
        super().__init__(f"{service} is unreachable{': ' + detail if detail else ''}")
        self.service = service
        self.detail = detail

    @property
    def name(self) -> LazyText:
        """The daemon's name in the reader's language ('server IMAP (Dovecot)'): each store's
        SERVICE is English for logs and the CLI, marked with N_ so that pages can look it up."""
        return lazy_gettext(self.service)


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
