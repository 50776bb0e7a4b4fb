"""Send later and Undo send against the real stack: the worker sends through Postfix at the
time chosen, files the copy in Sent; Edit, Cancel and Undo take a message back into Drafts."""
from __future__ import annotations

import email
import time
from datetime import timedelta, timezone
from email import policy

import pytest

from sqlalchemy import func, select

from app import create_app
from core.models import AppPassword
from core.models.base import utcnow
from tests.helpers import signed_in_client, wait_for_subject
from tests.integration.scheduled_support import ZONE, local_in, pair, rows_of, schedule  # noqa: F401
from tests.integration.test_compose import folder_uids, open_form, post
from tests.faults.support import count


def test_a_scheduled_message_goes_out_at_its_time_and_lands_in_sent(app, mail_stack, stack_db, pair):
    sender, rcpt = pair
    client, subject, response = schedule(app, sender, rcpt, 6, bcc=rcpt.replace("reader", "later"))
    assert response.status_code == 302 and response.location.endswith("/scheduled")
    [row] = rows_of(stack_db, sender)
    assert row.subject == subject and row.time_zone == ZONE and row.state == "queued"
    # The time typed in New York is stored as the same instant in UTC.
    assert abs((row.send_at.replace(tzinfo=timezone.utc) - utcnow()).total_seconds() - 6) < 3
    page = client.get("/scheduled").get_data(as_text=True)
    assert subject in page and rcpt in page and f"({ZONE})" in page
    assert count(mail_stack, rcpt, "INBOX", subject) == 0  # not before its time
    assert count(mail_stack, sender, "Drafts") == 0

    raw = wait_for_subject(mail_stack, rcpt, subject, timeout=30)
    arrived = email.message_from_bytes(raw, policy=policy.default)
    assert arrived["Bcc"] is None and not any(k.startswith("X-Mailroom") for k in arrived.keys())
    assert time.time() - email.utils.parsedate_to_datetime(arrived["Date"]).timestamp() < 30
    assert wait_for_subject(mail_stack, sender, subject, folder="Sent", timeout=10)
    assert rows_of(stack_db, sender) == []


def test_cancel_keeps_it_in_drafts_and_nothing_is_sent(app, mail_stack, stack_db, pair):
    sender, rcpt = pair
    client, subject, _ = schedule(app, sender, rcpt, 4)
    [row] = rows_of(stack_db, sender)
    page = client.get("/scheduled").get_data(as_text=True)
    fields = {"csrf_token": open_form(client)[1]["csrf_token"]}
    response = client.post(f"/scheduled/{row.id}/cancel", data=fields)
    assert response.status_code == 302 and subject in page
    assert rows_of(stack_db, sender) == []
    assert wait_for_subject(mail_stack, sender, subject, folder="Drafts", timeout=5)
    time.sleep(6)  # past its time: the worker must have nothing left to send
    assert count(mail_stack, rcpt, "INBOX", subject) == 0
    assert count(mail_stack, sender, "Sent", subject) == 0


def test_edit_opens_it_in_compose_unscheduled_with_every_field(app, mail_stack, stack_db, pair):
    sender, rcpt = pair
    client, subject, _ = schedule(app, sender, rcpt, 120, cc=rcpt, body="Edit me **later**",
                                  markdown="on")
    [row] = rows_of(stack_db, sender)
    token = open_form(client)[1]["csrf_token"]
    response = client.post(f"/scheduled/{row.id}/edit", data={"csrf_token": token})
    assert response.status_code == 302 and "/compose?draft=" in response.location
    page = client.get(response.location).get_data(as_text=True)
    assert subject in page and "Edit me **later**" in page and rcpt in page
    assert 'id="c-markdown" checked' in page
    assert rows_of(stack_db, sender) == []
    assert count(mail_stack, sender, "Drafts", subject) == 1


def test_another_person_cannot_edit_or_cancel_it(app, mail_stack, stack_db, pair):
    sender, rcpt = pair
    schedule(app, sender, rcpt, 120)
    [row] = rows_of(stack_db, sender)
    other = signed_in_client(app, rcpt)
    token = open_form(other)[1]["csrf_token"]
    for action in ("edit", "cancel"):
        response = other.post(f"/scheduled/{row.id}/{action}", data={"csrf_token": token})
        assert response.status_code == 302
    assert [r.id for r in rows_of(stack_db, sender)] == [row.id]
    assert row.subject not in other.get("/scheduled").get_data(as_text=True)


def test_a_time_in_the_past_is_refused_with_the_form_kept(app, mail_stack, stack_db, pair):
    sender, rcpt = pair
    _, subject, response = schedule(app, sender, rcpt, -60)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "That time has passed" in page and subject in page
    assert rows_of(stack_db, sender) == []


def test_a_refused_message_stays_listed_with_the_error(app, mail_stack, stack_db, pair):
    sender, rcpt = pair
    client, subject, _ = schedule(app, sender, "nobody-here@example.test", 2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        [row] = rows_of(stack_db, sender)
        if row.state == "failed":
            break
        time.sleep(0.5)
    assert row.state == "failed" and "nobody-here@example.test" in row.error
    page = client.get("/scheduled").get_data(as_text=True)
    assert subject in page and "did not accept" in page
    assert count(mail_stack, sender, "Sent", subject) == 0


@pytest.fixture(scope="module")
def undo_app(mail_stack):
    """The app with Send's ten seconds of Undo (the suite's app sends at once)."""
    return create_app({**mail_stack, "ENV": "testing", "UNDO_SEND_SECONDS": 10})


def send_with_undo(undo_app, sender, rcpt, subject):
    client = signed_in_client(undo_app, sender)
    _, fields = open_form(client)
    response = post(client, "/compose/send", fields, **{"from": sender}, to=rcpt,
                    subject=subject, body="Undo me?")
    assert response.status_code == 302
    return client, client.get(response.location).get_data(as_text=True)


def test_undo_within_ten_seconds_prevents_delivery_and_reopens_the_draft(
        undo_app, mail_stack, stack_db, pair):
    sender, rcpt = pair
    subject = f"undo {time.time_ns()}"
    client, page = send_with_undo(undo_app, sender, rcpt, subject)
    assert f"Sending to {rcpt}" in page and ">Undo</button>" in page
    [row] = rows_of(stack_db, sender)
    assert row.undo and row.send_at.replace(tzinfo=timezone.utc) > utcnow() + timedelta(seconds=7)
    token = open_form(client)[1]["csrf_token"]
    response = client.post(f"/scheduled/{row.id}/edit", data={"csrf_token": token})
    assert "/compose?draft=" in response.location
    assert subject in client.get(response.location).get_data(as_text=True)
    time.sleep(12)
    assert count(mail_stack, rcpt, "INBOX", subject) == 0
    assert count(mail_stack, sender, "Drafts", subject) == 1


def test_without_undo_it_goes_out_promptly_after_ten_seconds(undo_app, mail_stack, stack_db, pair):
    sender, rcpt = pair
    subject = f"no undo {time.time_ns()}"
    began = time.monotonic()
    send_with_undo(undo_app, sender, rcpt, subject)
    assert count(mail_stack, rcpt, "INBOX", subject) == 0
    wait_for_subject(mail_stack, rcpt, subject, timeout=30)
    took = time.monotonic() - began
    assert took >= 10, f"delivered after {took:.1f} s, inside the Undo time"
    assert wait_for_subject(mail_stack, sender, subject, folder="Sent", timeout=10)


def test_a_password_change_goes_with_the_waiting_messages(app, mail_stack, stack_db, pair):
    from tests.helpers import PASSWORD, imap_login
    from tests.integration.portal_support import post as portal_post

    sender, rcpt = pair
    client, subject, _ = schedule(app, sender, rcpt, 6)
    new = "a brand new secret 42"
    changed = portal_post(client, "/settings/password",
                          {"current": PASSWORD, "new": new, "repeat": new})
    assert changed.status_code == 302
    assert wait_for_subject(mail_stack, rcpt, subject, timeout=30)
    sent = imap_login(mail_stack, sender, new)  # the old password would not open it now
    try:
        sent.select_folder("Sent", readonly=True)
        assert sent.search(["SUBJECT", subject])
    finally:
        sent.logout()


def test_with_two_factor_sign_in_messages_go_after_signing_out(app, mail_stack, stack_db, pair):
    """Dovecot refuses a two-factor person's main password for SMTP, and their web
    session's credential ends with the session: each message gets a credential of its own,
    also one scheduled before two-factor sign-in was turned on."""
    from core.services.access import app_passwords
    from tests.integration.test_two_factor_web import enrol, password_step
    from tests.integration.test_two_factor_web import post as web_post

    sender, rcpt = pair
    client = app.test_client()
    assert password_step(client, sender).status_code == 302
    _, before, _ = schedule(app, sender, rcpt, 20, client=client)  # holds the main password
    enrol(client)
    _, after, _ = schedule(app, sender, rcpt, 8, client=client)
    with stack_db.transaction() as session:
        assert app_passwords.listed(session, sender) == []  # internal: not on the page
    assert web_post(client, "/logout", {}, token_from="/settings/security").status_code == 302
    for subject in (after, before):
        assert wait_for_subject(mail_stack, rcpt, subject, timeout=40)
        assert wait_for_subject(mail_stack, sender, subject, folder="Sent", timeout=10)
    assert rows_of(stack_db, sender) == []
    with stack_db.transaction() as session:  # each credential went with its message
        assert session.scalar(select(func.count()).select_from(AppPassword)
                              .where(AppPassword.address == sender)) == 0
