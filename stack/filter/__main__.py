"""`python -m stack.filter CONFIG`: start the disclaimer filter in the background.

Run by `stack up` as root (stack/daemons.py): it binds its port, moves to the
background, writes its pidfile, then runs as an unprivileged system user of its own,
as Postfix's FILTER_README advises for anything that parses mail content.
"""
from __future__ import annotations

import asyncio
import configparser
import logging
import signal
import socket
import sys
from pathlib import Path

from aiosmtpd.smtp import SMTP

from sqlalchemy.exc import SQLAlchemyError

from core.db import Database, transaction_at
from core.mail.disclaimer import attach, has_disclaimer, render
from core.services.directory.disclaimers import active_disclaimer

from .. import perms
from ..background import detach, drop_privileges, log_to_stderr
from ..errors import StackError
from . import FilterConfig, read_config
from .handler import HELO_NAME, DisclaimerHandler

log = logging.getLogger("mailroom.filter")
# Postfix's message_size_limit is 25 MiB; leave room for the part we add.
DATA_SIZE_LIMIT = 64 * 1024 * 1024
# Postfix's smtp client waits up to 600 s for the reply to DATA (smtp_data_done_timeout).
SESSION_TIMEOUT = 600


def main(argv: list[str]) -> int:
    """Start the filter from its config file; 0 once it runs in the background."""
    log_to_stderr("disclaimer")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command chatter
    if len(argv) != 1:
        log.error("usage: python -m stack.filter CONFIG")
        return 2
    try:
        config = read_config(Path(argv[0]))
        uid, gid = perms.system_user(config.user)
        warm_up(config)
        listener = bind(config)
    except (OSError, KeyError, ValueError, configparser.Error, SQLAlchemyError, StackError) as exc:
        log.error("cannot start: %s", exc)
        return 1
    detach(config.pidfile)
    drop_privileges(uid, gid)
    database = Database()
    database.configure(config.database_url, private=False)  # it reads disclaimers, never a secret
    handler = DisclaimerHandler(config, database)
    try:
        handler.disclaimer_for("check@mailroom.invalid")
    except SQLAlchemyError as exc:
        log.error("user %s cannot read the database: %s", config.user, exc)
        return 1
    # Only now does the port accept connections, so `stack up` waits for a working filter.
    listener.listen(64)
    log.info("listening on %s:%s, handing mail back to %s:%s",
             config.listen, config.port, config.listen, config.reinject_port)
    serve(listener, config, handler)
    return 0


def bind(config: FilterConfig) -> socket.socket:
    """The server socket, bound before the fork so a taken port fails the start."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((config.listen, config.port))
    return listener


def warm_up(config: FilterConfig) -> None:
    """Do the work of one message once, so every module it loads lazily is imported now.

    Python may live under a directory only root can read (/root/.pyenv); once we run as
    the filter's user, a module not imported yet could no longer be found. This also
    proves the database readable before `stack up` is told the filter runs.
    """
    with transaction_at(config.database_url) as session:
        active_disclaimer(session, "bücher.mailroom.invalid")
    sample = render("mailroom.invalid", "**warm-up** [link](https://mailroom.invalid/)")
    has_disclaimer(attach(b"Subject: warm-up\r\n\r\nwarm-up\r\n", sample), sample.domain)


def serve(listener: socket.socket, config: FilterConfig, handler: DisclaimerHandler) -> None:
    """Run the SMTP server until SIGTERM; a message in flight is retried by Postfix."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory() -> SMTP:
        """One SMTP protocol instance per connection from Postfix."""
        return SMTP(handler, hostname=HELO_NAME, decode_data=False, enable_SMTPUTF8=True,
                    data_size_limit=DATA_SIZE_LIMIT, timeout=SESSION_TIMEOUT,
                    ident="Mailroom disclaimer filter")

    server = loop.run_until_complete(loop.create_server(factory, sock=listener))
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.close()
        handler.executor.shutdown(wait=False, cancel_futures=True)
        log.info("stopped")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
