"""Two-factor sign-in through the web app (issue 20 item 2): the code after the password,
recovery codes used once, enrolment that keeps the session working over IMAP, ManageSieve
and SMTP (the session switches to its own credential), turning off, app passwords made and
revoked on the page, and a domain that requires it.
"""
from __future__ import annotations

import re
import time
import uuid

import pyotp

from core.services.access import twofactor
from core.services.directory import lookup
from core.services.directory.lookup import SYSTEM_ACTOR
from core.services.directory.domains import require_two_factor
from tests.helpers import PASSWORD, csrf_token, new_address, new_domain_admin, wait_for_subject

from .admin_support import AdminClient, wait_until
from .test_compose import open_form, post as compose_post
from .test_dovecot_settings import imap_login_ok
from .test_two_factor import turn_on

# This file's own client addresses (wrong codes and passwords count per client).
WEB = "127.0.0.73"
GUESSER = "127.0.0.74"


def get(client, url: str, ip: str = WEB):
    return client.get(url, environ_base={"REMOTE_ADDR": ip})


def post(client, url: str, data: dict, ip: str = WEB, token_from: str = "/login"):
    token = csrf_token(get(client, token_from, ip).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token}, environ_base={"REMOTE_ADDR": ip})


def password_step(client, address: str, ip: str = WEB):
    return post(client, "/login", {"address": address, "password": PASSWORD}, ip)


_given: dict[str, int] = {}  # the last step next_code gave for each secret


def next_code(secret: str) -> str:
    """A code for a step not used yet (each step's code is taken once): the next step's,
    which the server accepts already (twofactor.WINDOW), after any given before; only a
    second one within a step waits for the clock."""
    totp = pyotp.TOTP(secret)
    step = max(_given.get(secret, 0), int(time.time()) // totp.interval) + 1
    while step > int(time.time()) // totp.interval + twofactor.WINDOW:
        time.sleep(0.5)
    _given[secret] = step
    return totp.generate_otp(step)


def test_sign_in_asks_the_code_after_the_password(app, stack_db, domain):
    address = new_address(stack_db, domain, "tfaweb")
    secret = turn_on(stack_db, address)
    client = app.test_client()
    answer = password_step(client, address)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login/code")
    assert get(client, "/mail").status_code == 302  # not signed in yet
    wrong = post(client, "/login/code", {"code": "000000"}, token_from="/login/code")
    assert wrong.status_code == 401 and "not right" in wrong.get_data(as_text=True)
    right = post(client, "/login/code", {"code": next_code(secret)}, token_from="/login/code")
    assert right.status_code == 302 and right.headers["Location"].endswith("/mail")
    # IMAP (the list), ManageSieve (filters) and SMTP (compose) work with the session's own credential.
    assert "Inbox" in get(client, "/mail").get_data(as_text=True)
    assert get(client, "/settings/filters").status_code == 200
    subject = f"sent with 2FA {uuid.uuid4().hex}"
    _, fields = open_form(client)
    sent = compose_post(client, "/compose/send", fields, **{"from": address}, to=address,
                        subject=subject, body="Sent over SMTP AUTH with the session's credential.")
    assert sent.status_code == 302
    wait_for_subject(app.config, address, subject)
    # The main password alone no longer opens the mail from outside.
    assert not imap_login_ok(app.config, GUESSER, address, starttls=True)


def test_a_recovery_code_signs_in_once(app, stack_db, domain):
    address = new_address(stack_db, domain, "tfarec")
    with stack_db.transaction() as session:
        secret = twofactor.begin(session, address).secret
    with stack_db.transaction() as session:
        codes = twofactor.confirm(session, address, pyotp.TOTP(secret).now())
    client = app.test_client()
    password_step(client, address)
    assert post(client, "/login/code", {"code": codes[0].upper()}, token_from="/login/code").status_code == 302
    again = app.test_client()
    password_step(again, address)
    assert post(again, "/login/code", {"code": codes[0]}, token_from="/login/code").status_code == 401


def enrol(client) -> tuple[str, list[str]]:
    """Set up two-factor sign-in on the page; return the secret and the recovery codes."""
    page = post(client, "/settings/security/enrol", {}, token_from="/settings/security")
    assert page.status_code == 200
    secret = re.search(r'aria-label="Key to type">([A-Z2-7]+)<', page.get_data(as_text=True)).group(1)
    done = post(client, "/settings/security/confirm", {"code": pyotp.TOTP(secret).now()},
                token_from="/settings/security")
    assert done.status_code == 200, done.get_data(as_text=True)[:400]
    return secret, re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.get_data(as_text=True))


def test_enrolment_keeps_the_session_working_and_turning_off_needs_password_and_code(app, stack_db, domain):
    address = new_address(stack_db, domain, "tfaenrol")
    client = app.test_client()
    assert password_step(client, address).status_code == 302
    assert "app password" not in get(client, "/settings/mail-app").get_data(as_text=True)
    secret, codes = enrol(client)
    assert "app password" in get(client, "/settings/mail-app").get_data(as_text=True)
    assert len(codes) == 10
    with stack_db.transaction() as session:
        assert twofactor.is_on(session, address)
    # The session now holds its own credential: ManageSieve still takes it.
    assert get(client, "/settings/filters").status_code == 200
    assert not imap_login_ok(app.config, GUESSER, address, starttls=True)
    # Off: a wrong code changes nothing; the password and a code turn it off.
    refused = post(client, "/settings/security/disable", {"password": PASSWORD, "code": "123456"},
                   token_from="/settings/security")
    assert refused.status_code == 401
    done = post(client, "/settings/security/disable", {"password": PASSWORD, "code": next_code(secret)},
                token_from="/settings/security")
    assert done.status_code == 302
    with stack_db.transaction() as session:
        assert not twofactor.is_on(session, address)
    assert imap_login_ok(app.config, GUESSER, address, starttls=True)


def test_app_password_made_and_revoked_on_the_page(app, stack_db, domain):
    address = new_address(stack_db, domain, "tfaapp")
    client = app.test_client()
    password_step(client, address)
    made = post(client, "/settings/app-passwords", {"name": "  Phone  "}, token_from="/settings/security")
    text = made.get_data(as_text=True)
    password = re.search(r'aria-label="New app password">([a-z0-9-]+)<', text).group(1)
    assert "Phone" in text
    assert imap_login_ok(app.config, GUESSER, address, starttls=True, password=password)
    # The worker records the last use (time and client address) shown beside it.
    shown = f'from <span class="client">{GUESSER}</span>'
    assert wait_until(lambda: shown in get(client, "/settings/security").get_data(as_text=True))
    listed = get(client, "/settings/security").get_data(as_text=True)
    assert password not in listed  # shown once
    row_id = re.search(r"/settings/app-passwords/(\d+)/revoke", listed).group(1)
    assert post(client, f"/settings/app-passwords/{row_id}/revoke", {},
                token_from="/settings/security").status_code == 302
    assert not imap_login_ok(app.config, GUESSER, address, starttls=True, password=password)
    assert post(client, "/settings/app-passwords", {"name": " "},
                token_from="/settings/security").status_code == 422


def test_a_domain_that_requires_it_sends_people_to_set_it_up(app, stack_db):
    name = f"tfa{uuid.uuid4().hex[:6]}.test"
    with stack_db.transaction() as session:
        lookup.add_domain(session, name)
    address = new_address(stack_db, name, "person")
    with stack_db.transaction() as session:
        require_two_factor(session, SYSTEM_ACTOR, lookup.get_domain(session, name), True)
    client = app.test_client()
    assert password_step(client, address).status_code == 302
    sent = get(client, "/mail")
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/settings/security")
    assert "Your organisation requires it" in get(client, "/settings/security").get_data(as_text=True)
    secret, _ = enrol(client)
    assert get(client, "/mail").status_code == 200
    # It cannot be turned off while the domain requires it.
    post(client, "/settings/security/disable", {"password": PASSWORD, "code": next_code(secret)},
         token_from="/settings/security")
    with stack_db.transaction() as session:
        assert twofactor.is_on(session, address)


def test_a_domain_admin_requires_it_and_resets_a_lost_phone(app, stack_db, domain):
    name = f"tfa{uuid.uuid4().hex[:6]}.test"
    with stack_db.transaction() as session:
        lookup.add_domain(session, name)
    # The admin's own mailbox is elsewhere: the requirement would send them to set it up too.
    admin = AdminClient(app, new_domain_admin(stack_db, domain, of=name))
    person = new_address(stack_db, name, "lostphone")
    turn_on(stack_db, person)
    assert admin.post(f"/admin/domains/{name}/two-factor", {"require_two_factor": "on"}).status_code == 302
    with stack_db.transaction() as session:
        assert lookup.get_domain(session, name).require_two_factor
    assert "Turn off two-factor sign-in" in admin.text(f"/admin/mailboxes/{person}")
    assert admin.post(f"/admin/mailboxes/{person}/two-factor").status_code == 302
    with stack_db.transaction() as session:
        assert not twofactor.is_on(session, person)
        assert twofactor.required(session, person)  # the domain sends them to set it up again
    assert imap_login_ok(app.config, GUESSER, person, starttls=True)
