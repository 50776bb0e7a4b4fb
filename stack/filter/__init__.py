"""The disclaimer filter: Postfix's after-queue content filter for submitted mail.

Postfix's submission service queues every message, then hands it over SMTP to this
process (`content_filter` in master.cf); the filter adds the sending domain's
disclaimer as a MIME part (core.mail.disclaimer) and gives the message back to a
dedicated Postfix smtpd (REINJECT_PORT) that neither filters nor scans again. It answers
250 only once Postfix has taken the message back, so a filter that is down or failing
leaves the mail deferred in Postfix's queue, never lost.

This module is imported by the stack's renderer and daemon list: no heavy imports here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..background import read_section

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def config_file(layout) -> Path:
    """Where `stack up` renders the filter's settings (stack/templates/disclaimer)."""
    return layout.etc / "disclaimer" / "filter.conf"


def pidfile(layout) -> Path:
    """The pidfile the filter writes once it runs in the background."""
    return layout.run / "disclaimer.pid"


@dataclass(frozen=True)
class FilterConfig:
    """The filter's settings, e.g. FilterConfig("127.0.0.1", 10026, 10027, ...)."""

    listen: str
    port: int
    reinject_port: int
    database_url: str  # the app's database (a PostgreSQL one holds a password: 0600 file)
    pidfile: Path
    user: str


def read_config(path: Path) -> FilterConfig:
    """Parse the rendered filter.conf."""
    section = read_section(path, "filter")
    return FilterConfig(
        listen=section["listen"], port=section.getint("port"),
        reinject_port=section.getint("reinject_port"), database_url=section["database_url"],
        pidfile=Path(section["pidfile"]),
        user=section["user"],
    )
