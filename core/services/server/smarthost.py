"""The smarthost (Admin → Server → Smarthost, `flask --app app smarthost`): all mail for
other domains leaves through one host, signed in with a user name and password.

Host, port, TLS mode and user name are server settings (core.models.server); the password
never is: the privileged helper seals it with a key only root reads and the sealed blob
is kept in the private database (ServerSecret). The web app never sees it again: pages
and commands say only whether one is set. The helper renders it into Postfix's password
file (stack/smarthost.py) when it applies the settings, as for every other setting
(core.services.server.settings: `postfix check`, reload, undone if Postfix refuses).

A password is sealed for the host and port it was given for and is never sent anywhere
else: changing either asks for the password again.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.mail import privileged
from core.mail.errors import ServiceUnavailable
from core.models.server import DEFAULT_SMARTHOST_PORT, SMARTHOST_PASSWORD, sealed_secret
from core.services.errors import ServiceError
from core.services.server import mailstore

from . import settings
from .settings import InvalidSettings, Outcome

MAX_PASSWORD = 255
TLS_LABELS = {"none": _l("None (the password crosses the network in clear)"),
              "starttls": "STARTTLS (usually port 587)", "ssl": "Implicit TLS (usually port 465)"}


@dataclass(frozen=True)
class Smarthost:
    """The smarthost as stored, e.g. Smarthost('smtp.example.net', 587, 'starttls', 'ann', True)."""

    host: str
    port: int
    tls: str
    username: str
    password_set: bool

    def as_json(self) -> dict:
        """What `smarthost show --json` prints (never the password)."""
        return {"host": self.host or None, "port": self.port, "tls": self.tls,
                "username": self.username or None, "password_set": self.password_set,
                "relayhost": f"[{self.host}]:{self.port}" if self.host else None}


def current(db: Session, cfg: dict) -> Smarthost:
    """The stored smarthost (host '' when there is none)."""
    row = settings.current(db, cfg)
    return Smarthost(row.smarthost_host, row.smarthost_port, row.smarthost_tls,
                     row.smarthost_username, sealed_secret(db, SMARTHOST_PASSWORD) is not None)


def split_destination(text: str) -> tuple[str, str]:
    """('host', 'port') of `HOST:PORT` (the command line's form), e.g. ('smtp.example.net', '587')."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        raise InvalidSettings({"smarthost_port": _l('“%(text)s”: write the smarthost as HOST:PORT, '
                                                    'as in smtp.example.net:587.', text=text)})
    return host, port


def save(db: Session, cfg: dict, actor: str, texts: dict[str, str], password: str | None,
         sign_out: bool = False) -> Outcome:
    """Check and apply the smarthost in TEXTS (smarthost_host, _port, _tls, _username).

    PASSWORD replaces the stored one; None keeps it while host and port stay the same.
    SIGN_OUT removes the user name and password. InvalidSettings names each field that
    is wrong; nothing is stored then.
    """
    if sign_out:
        texts, password = {**texts, "smarthost_username": ""}, None
    values = settings.parse(texts)
    errors = _problems(cfg, current(db, cfg), values, password)
    if errors:
        raise InvalidSettings(errors)
    if not values["smarthost_username"]:
        secrets = {SMARTHOST_PASSWORD: None}
    elif password is not None:
        secrets = {SMARTHOST_PASSWORD: _seal(cfg, values, password)}
    else:
        secrets = {}
    return settings.update(db, cfg, texts, actor, secrets)


def clear(db: Session, cfg: dict, actor: str) -> Outcome:
    """Send mail for other domains directly again: no smarthost, no password kept."""
    texts = {"smarthost_host": "", "smarthost_port": str(DEFAULT_SMARTHOST_PORT),
             "smarthost_tls": "starttls", "smarthost_username": ""}
    return settings.update(db, cfg, texts, actor, {SMARTHOST_PASSWORD: None})


def _problems(cfg: dict, now: Smarthost, values: dict, password: str | None) -> dict[str, str]:
    """What is wrong with VALUES and PASSWORD given NOW, by field."""
    host, port, user = values["smarthost_host"], values["smarthost_port"], values["smarthost_username"]
    errors = {}
    if not host:
        errors["smarthost_host"] = _l("Smarthost: enter the host that takes this server's outgoing mail.")
    elif host in (cfg["LISTEN_ADDRESS"], cfg["MAIL_HOSTNAME"]) and port in _own_ports(cfg):
        errors["smarthost_host"] = _l("Smarthost: that is this server itself; mail would loop.")
    if password is not None:
        problem = password_problem(password)
        if problem:
            errors["smarthost_password"] = problem
        elif not user:
            errors["smarthost_username"] = _l("User name: enter the user name this password belongs to.")
    elif user and not now.password_set:
        errors["smarthost_password"] = _l("Password: enter the password for this user name.")
    elif user and (host, port) != (now.host, now.port):
        errors["smarthost_password"] = (_l("Password: the password is only ever sent to the host and port "
                                        "it was given for; enter it again for this one."))
    return errors


def password_problem(password: str) -> str:
    """Why PASSWORD cannot be kept, or ''."""
    if not password:
        return _l("Password: enter the password.")
    if len(password) > MAX_PASSWORD:
        return f"Password: at most {MAX_PASSWORD} characters."
    if password != password.strip() or any(ord(c) < 32 or ord(c) == 127 for c in password):
        return _l("Password: no control characters, and no blanks at its start or end.")
    return ""


def _own_ports(cfg: dict) -> set[int]:
    """The ports on which this server's Postfix takes mail."""
    return {int(cfg[key]) for key in ("SMTP_PORT", "SUBMISSION_PORT", "SMTPS_PORT", "REINJECT_PORT")}


def _seal(cfg: dict, values: dict, password: str) -> bytes:
    """PASSWORD sealed by the privileged helper for the smarthost in VALUES."""
    try:
        sealed = mailstore.call(cfg, "seal_smarthost_password", host=values["smarthost_host"],
                                port=values["smarthost_port"], password=password)
    except ServiceUnavailable as exc:
        raise ServiceError(_l("The password was not stored: it is sealed by the stack's privileged "
                              "helper, which is not answering (%(exc)s).", exc=exc)) from exc
    except privileged.Refused as exc:
        raise InvalidSettings({"smarthost_password": f"Password: {exc}."}) from exc
    return sealed.encode("ascii")
