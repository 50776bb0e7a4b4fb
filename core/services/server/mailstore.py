"""Where the local stack keeps mail and Dovecot's admin socket, from the app's settings."""
from __future__ import annotations

from pathlib import Path

from core.mail.doveadm import SERVICE, Doveadm, DoveadmError
from core.mail.errors import ServiceUnavailable
from stack.errors import StackError
from stack.layout import Layout


def _layout(cfg: dict):
    try:
        return Layout.from_config(cfg)
    except StackError as exc:
        raise ServiceUnavailable(SERVICE, str(exc)) from exc


def doveadm(cfg: dict) -> Doveadm:
    """A (not yet opened) connection to the stack's doveadm-server socket."""
    return Doveadm(_layout(cfg).dovecot_run / "doveadm-server", float(cfg["MAIL_TIMEOUT"]) * 3)


def mail_root(cfg: dict) -> Path:
    """The directory holding every domain's Maildirs."""
    return _layout(cfg).mail


def mail_home(cfg: dict, address: str) -> Path:
    """The home directory Dovecot's userdb gives ADDRESS (see dovecot-sql.conf.ext)."""
    local, _, domain = address.partition("@")
    return mail_root(cfg) / domain / local


def shared_dict_uri(cfg: dict) -> str:
    """Dovecot's acl_shared_dict: who shares mailboxes with whom."""
    return "file:" + str(_layout(cfg).lib / "shared" / "shared-mailboxes.db")


def kick(cfg: dict, address: str) -> None:
    """End ADDRESS's open IMAP and POP3 sessions (after its access was taken away)."""
    with doveadm(cfg) as adm:
        try:
            adm.run("", "kick", "--", address)
        except DoveadmError as exc:
            if exc.code != "NOTFOUND":  # nobody was connected
                raise
