"""Scheduling messages through the web app, and reading what the worker did with them."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.models.scheduled import ScheduledMessage
from tests.helpers import new_address, signed_in_client
from tests.integration.test_compose import open_form, post

ZONE = "America/New_York"  # not the machine's zone (UTC): the conversion is exercised


@pytest.fixture
def pair(stack_db, domain):
    """A sender and a recipient."""
    return new_address(stack_db, domain, "later"), new_address(stack_db, domain, "reader")


def local_in(seconds: float, zone: str = ZONE) -> str:
    """The datetime-local value SECONDS from now in ZONE, e.g. '2026-12-06T09:30:05'."""
    at = datetime.now(ZoneInfo(zone)) + timedelta(seconds=seconds)
    return at.replace(tzinfo=None).isoformat(timespec="seconds")


def schedule(app, sender: str, to: str, seconds: float, client=None, **values):
    """Compose and Send later, SECONDS from now, with CLIENT (by default a new one
    signed in as SENDER); (signed-in client, subject, response)."""
    client = client or signed_in_client(app, sender)
    _, fields = open_form(client)
    subject = values.pop("subject", f"later {uuid.uuid4().hex}")
    response = post(client, "/compose/send", fields, **{"from": sender}, to=to, subject=subject,
                    body=values.pop("body", "Written now, sent later."), action="later",
                    send_at=local_in(seconds), time_zone=ZONE, **values)
    return client, subject, response


def rows_of(stack_db, address: str) -> list[ScheduledMessage]:
    """ADDRESS's scheduled rows as the database has them now."""
    with stack_db.transaction() as session:
        rows = list(session.scalars(select(ScheduledMessage)
                                    .where(ScheduledMessage.address == address)))
        session.expunge_all()
    return rows
