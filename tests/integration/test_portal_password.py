"""Changing the password: IMAP and SMTP take the new one at once, other web sessions end.

Failed logins are made from this issue's own addresses (127.0.0.30-39): Dovecot's
penalty for them then slows no other test.
"""
import smtplib
import ssl
import time

import pytest

from core.mail import imap
from core.mail.errors import AuthenticationFailed
from tests.helpers import (PASSWORD, imap_login, post_login, signed_in_client, still_answers,
                           submit, wait_for_subject)
from tests.integration.portal_support import imap_settings, post, signed_in_person, unique

pytestmark = pytest.mark.directory  # run again on PostgreSQL (stack/test.sh)

PAGE = "/settings/password"
NEW_PASSWORD = "a brand new secret 42"
WRONG_IP, OLD_IMAP_IP, OLD_SMTP_IP = "127.0.0.30", "127.0.0.31", "127.0.0.32"


def smtp_login(cfg, address, password, source):
    """AUTH on the submission port from SOURCE (after STARTTLS); True when accepted."""
    context = ssl.create_default_context(cafile=cfg["TLS_CA_FILE"])
    with smtplib.SMTP(cfg["SUBMISSION_HOST"], int(cfg["SUBMISSION_PORT"]), local_hostname="localhost",
                      source_address=(source, 0), timeout=20) as conn:
        conn.starttls(context=context)
        try:
            conn.login(address, password)
        except smtplib.SMTPAuthenticationError:
            return False
    return True


def arrived(cfg, address, subject, timeout=20.0):
    """Whether SUBJECT reaches the INBOX of ADDRESS (read with the new password)."""
    client = imap_login(cfg, address, NEW_PASSWORD)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            client.select_folder("INBOX", readonly=True)
            if client.search(["SUBJECT", subject]):
                return True
            time.sleep(0.2)
        return False
    finally:
        client.logout()


@pytest.fixture
def person(app, stack_db, domain):
    return signed_in_person(app, stack_db, domain, "pw")


def test_rules_are_shown_before_typing(person):
    _, client = person
    page = client.get(PAGE).get_data(as_text=True)
    assert "At least 10 characters." in page and 'autocomplete="new-password"' in page


def test_change_works_at_once_and_ends_other_sessions(app, mail_stack, person):
    address, client = person
    other = signed_in_client(app, address)
    assert other.get("/settings/").status_code == 200
    response = post(client, PAGE, {"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert response.status_code == 302
    assert "1 other sign-in ended" in client.get(PAGE).get_data(as_text=True)
    assert other.get("/settings/").status_code == 302  # sent to the sign-in page
    imap.close(imap.login(imap_settings(mail_stack), address, NEW_PASSWORD))
    with pytest.raises(AuthenticationFailed):
        imap.login(imap_settings(mail_stack), address, PASSWORD, OLD_IMAP_IP)
    subject = unique("new password")
    submit(mail_stack, address, address, subject, password=NEW_PASSWORD)
    assert arrived(mail_stack, address, subject)
    assert smtp_login(mail_stack, address, NEW_PASSWORD, OLD_SMTP_IP)
    assert not smtp_login(mail_stack, address, PASSWORD, OLD_SMTP_IP)
    # This session goes on: its sealed credential was renewed (ManageSieve logs in with it).
    assert client.get("/settings/filters").status_code == 200


@pytest.mark.parametrize("fields, field_error", [
    ({"current": PASSWORD, "new": "short", "repeat": "short"}, "At least 10 characters"),
    ({"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD + "x"}, "not the same"),
    ({"current": PASSWORD, "new": PASSWORD, "repeat": PASSWORD}, "same as the current one"),
    ({"current": "not my password", "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}, "current password is wrong"),
])
def test_bad_input_is_refused_and_nothing_changes(mail_stack, person, fields, field_error):
    address, client = person
    response = post(client, PAGE, fields, ip=WRONG_IP)
    assert response.status_code == 422 and field_error in response.get_data(as_text=True)
    imap.close(imap.login(imap_settings(mail_stack), address, PASSWORD))


def test_wrong_current_passwords_count_towards_the_sign_in_limit(app, mail_stack, person):
    # Issue 12: one count of guesses per address, whichever form checks the password.
    address, client = person
    wrong = {"current": "not my password", "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    statuses = [post(client, PAGE, wrong, ip="127.0.0.130").status_code for _ in range(3)]
    assert statuses == [422, 422, 422]
    signin = post_login(app.test_client(), address.upper() + ".", PASSWORD, ip="127.0.0.131")
    assert signin.status_code == 429


def test_change_ends_open_imap_sessions_but_this_web_session_reads_mail_on(app, mail_stack, person):
    # Issue 12: a session opened with the old password must not outlive the change.
    address, client = person
    subject = unique("before the change")
    submit(mail_stack, address, address, subject)
    wait_for_subject(mail_stack, address, subject)
    arrived_before = imap_login(mail_stack, address)
    arrived_before.select_folder("INBOX")
    assert client.get("/").status_code == 200  # the web session has a pooled connection
    response = post(client, PAGE, {"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert response.status_code == 302
    assert not still_answers(arrived_before)
    inbox = client.get("/")
    assert inbox.status_code == 200 and subject in inbox.get_data(as_text=True)
