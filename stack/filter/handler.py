"""What the filter does with one message: look up the disclaimer, attach it, hand it back."""
from __future__ import annotations

import asyncio
import logging
import smtplib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from core.db import Database
from core.mail.disclaimer import Disclaimer, attach
from core.services.directory.disclaimers import active_disclaimer

from . import FilterConfig

log = logging.getLogger("mailroom.filter")
# ESMTP parameters of MAIL FROM that must survive the hop (RFC 6152, RFC 6531);
# SIZE is recomputed by smtplib, and we advertise no DSN to Postfix.
KEPT_MAIL_OPTIONS = ("BODY=", "SMTPUTF8")
REINJECT_TIMEOUT = 120.0
# The name this filter gives in its greeting and EHLO: the hop never leaves this host, and
# keeping MAIL_HOSTNAME out of filter.conf spares the filter a restart when it changes.
HELO_NAME = "localhost"
TEMPFAIL = "451 4.3.0 The disclaimer filter could not process this message now; try again later"


@dataclass(frozen=True)
class Envelope:
    """One message as Postfix handed it over: MAIL FROM, RCPT TOs, options, bytes."""

    sender: str
    recipients: tuple[str, ...]
    options: tuple[str, ...]
    data: bytes


class DisclaimerHandler:
    """aiosmtpd handler: every DATA is processed in a worker thread (blocking SQL, smtplib)."""

    def __init__(self, config: FilterConfig, database: Database, workers: int = 4) -> None:
        self.config = config
        self.database = database
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="filter")

    async def handle_MAIL(self, server, session, envelope, address, options) -> str:  # noqa: N802
        """Take mail from Postfix on this host only: the reinjection port trusts us."""
        if session.peer[0] != self.config.listen:
            log.warning("refused a message from %s: only Postfix may use the filter",
                        session.peer[0])
            return "550 5.7.1 Only the local mail server may use this filter"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        """Answer Postfix only once the message is queued again (or with why not)."""
        message = Envelope(envelope.mail_from or "", tuple(envelope.rcpt_tos),
                           tuple(envelope.mail_options or ()), envelope.content or b"")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.process, message)

    def process(self, message: Envelope) -> str:
        """The SMTP reply for MESSAGE; every failure is temporary, so Postfix keeps the mail."""
        try:
            disclaimer = self.disclaimer_for(message.sender)
            data = attach(message.data, disclaimer) if disclaimer else message.data
            reply = self.reinject(message, data)
        except SQLAlchemyError as exc:
            log.warning("from=<%s>: database unavailable (%s); deferred", message.sender, exc)
            return TEMPFAIL
        except Exception:  # noqa: BLE001 - aiosmtpd would answer 500, and Postfix would bounce
            log.exception("from=<%s>: unexpected failure; deferred", message.sender)
            return TEMPFAIL
        outcome = "none"
        if disclaimer is not None:
            state = "added" if data is not message.data else "already present"
            outcome = f"{state} ({disclaimer.domain})"
        log.info("from=<%s> rcpts=%d size=%d disclaimer %s: %s", message.sender,
                 len(message.recipients), len(data), outcome, reply)
        return reply

    def disclaimer_for(self, sender: str) -> Disclaimer | None:
        """The disclaimer of the sender's domain, read from the database for this message."""
        local, at, domain = sender.rpartition("@")
        if not (local and at and domain):
            return None  # the null sender (bounces) or no domain
        with self.database.transaction() as session:
            return active_disclaimer(session, domain)

    def reinject(self, message: Envelope, data: bytes) -> str:
        """Give DATA back to Postfix's reinjection port; the reply to send Postfix."""
        options = [o for o in message.options if o.upper().startswith(KEPT_MAIL_OPTIONS)]
        cfg = self.config
        try:
            with smtplib.SMTP(cfg.listen, cfg.reinject_port, local_hostname=HELO_NAME,
                              timeout=REINJECT_TIMEOUT, source_address=(cfg.listen, 0)) as smtp:
                refused = smtp.sendmail(message.sender, list(message.recipients), data,
                                        mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            return _refused_reply(exc.recipients)
        except smtplib.SMTPResponseException as exc:
            return _mirror(exc.smtp_code, exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("reinjection to %s:%s failed: %s", cfg.listen, cfg.reinject_port, exc)
            return TEMPFAIL
        for address, (code, text) in refused.items():
            # Postfix already holds the message for the others; this one is logged, as
            # SMTP gives one reply per message and a retry would duplicate theirs.
            log.error("reinjection refused <%s>: %s %s", address, code,
                      text.decode(errors="replace"))
        return "250 2.0.0 Ok: queued with the disclaimer filter's changes"


def _mirror(code: int, text: bytes) -> str:
    """Postfix's refusal passed on: permanent stays permanent, anything else is retried."""
    reason = text.decode(errors="replace").replace("\r", " ").replace("\n", " ")
    if 500 <= code < 600:
        return f"554 5.6.0 Refused after the disclaimer filter: {reason}"
    return f"451 4.3.0 Deferred after the disclaimer filter: {reason}"


def _refused_reply(recipients: dict) -> str:
    """The reply when Postfix refused every recipient (permanent only if all were)."""
    codes = [code for code, _ in recipients.values()]
    code, text = next(iter(recipients.values()))
    return _mirror(code if all(500 <= c < 600 for c in codes) else 451, text)
