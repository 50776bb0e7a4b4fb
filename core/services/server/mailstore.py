"""The mail store's privileged side: where the stack keeps mail, and the helper that acts on it.

What needs root (Dovecot's admin socket, sieve-test, Rspamd's files) is asked of the
stack's privileged helper (core/mail/privileged.py) by one typed operation per call.
"""
from __future__ import annotations

from pathlib import Path

from core.mail import privileged
from core.mail.errors import ServiceUnavailable
from stack.errors import StackError
from stack.layout import Layout
from stack.privileged import socket_path


def _layout(cfg: dict):
    try:
        return Layout.from_config(cfg)
    except StackError as exc:
        raise ServiceUnavailable(privileged.SERVICE, str(exc)) from exc


def call(cfg: dict, op: str, **args):
    """Run the helper's operation OP with ARGS; its result (Refused if it would not)."""
    return privileged.call(socket_path(_layout(cfg)), op, args, float(cfg["MAIL_TIMEOUT"]) * 6)


def mail_root(cfg: dict) -> Path:
    """The directory holding every domain's Maildirs."""
    return _layout(cfg).mail


def mail_home(cfg: dict, address: str) -> Path:
    """The home directory Dovecot's userdb gives ADDRESS (see dovecot-sql.conf.ext)."""
    local, _, domain = address.partition("@")
    return mail_root(cfg) / domain / local


def kick(cfg: dict, address: str) -> None:
    """End ADDRESS's open IMAP and POP3 sessions (after its access was taken away)."""
    call(cfg, "kick", address=address)
