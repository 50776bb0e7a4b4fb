"""Running one settings change and turning its typed errors into what the form shows."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable
from flask_babel import gettext as _

from core.mail.errors import AuthenticationFailed, MailError, ServiceUnavailable
from core.mail.sieve import ScriptRejected
from core.services.errors import ServiceError
from core.services.personal.filters import NeedsConfirmation
from core.services.personal.validation import InvalidField


@dataclass
class Outcome:
    """What became of a change: errors by field ('form' for the whole form), a question."""

    errors: dict[str, str] = field(default_factory=dict)
    confirm: str = ""
    status: int = 200

    @property
    def ok(self) -> bool:
        """True when the change was made."""
        return not self.errors and not self.confirm


def attempt(work: Callable[[], None], script_field: str = "form") -> Outcome:
    """Run WORK; a refused script's message (with its line) goes beside SCRIPT_FIELD."""
    try:
        work()
    except NeedsConfirmation as exc:
        return Outcome(confirm=str(exc), status=409)
    except InvalidField as exc:
        return Outcome({exc.field: str(exc)}, status=422)
    except ScriptRejected as exc:
        where = _('Line %(line)s: ', line=exc.line) if exc.line else ""
        return Outcome({script_field: _('The server refused the script. %(where)s%(message)s',
                                        where=where, message=exc.message)},
                       status=422)
    except ServiceUnavailable as exc:
        return Outcome({"form": _('The %(service)s does not answer, so nothing was saved. What you '
                                  'typed is still here: try again in a moment.', service=exc.name)},
                       status=503)
    except AuthenticationFailed:
        return Outcome({"form": _("The mail server no longer accepts your session's password. "
                                "Sign out and in again.")}, status=401)
    except (ServiceError, MailError) as exc:
        return Outcome({"form": str(exc)}, status=422)
    return Outcome()
