"""TOTP window and replay, recovery codes, app password format and hash (issue 20 item 2)."""
from __future__ import annotations

import hashlib
import re

import pyotp
import pytest

from core.services.access import app_passwords, twofactor
from core.services.access.twofactor import matching_step

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TOTP = pyotp.TOTP(SECRET)
NOW = 1_800_000_015.0  # inside step 60,000,000
STEP = int(NOW) // 30


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_codes_of_the_step_before_and_after_are_taken(offset):
    code = TOTP.generate_otp(STEP + offset)
    assert matching_step(SECRET, code, NOW) == STEP + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_codes_further_off_are_refused(offset):
    code = TOTP.generate_otp(STEP + offset)
    # A code may repeat by chance in another step; only the offsets' own codes are asked.
    if all(code != TOTP.generate_otp(STEP + near) for near in (-1, 0, 1)):
        assert matching_step(SECRET, code, NOW) is None


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_are_refused(typed):
    assert matching_step(SECRET, typed, NOW) is None


def test_spaces_in_a_typed_code_are_ignored():
    code = TOTP.generate_otp(STEP)
    assert matching_step(SECRET, f"{code[:3]} {code[3:]}", NOW) == STEP


def test_recovery_codes_are_random_and_hashed_however_typed():
    codes = {twofactor.new_recovery_code() for _ in range(200)}
    assert len(codes) == 200
    code = codes.pop()
    assert re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", code)
    assert twofactor.code_hash(code) == twofactor.code_hash(code.upper().replace("-", " "))
    assert twofactor.code_hash(code) != twofactor.code_hash(codes.pop())
    assert code not in twofactor.code_hash(code)


def test_app_passwords_have_100_random_bits_and_a_dovecot_hash():
    password = app_passwords.generate()
    assert re.fullmatch(r"([a-z2-9]{4}-){4}[a-z2-9]{4}", password)
    assert len(app_passwords.ALPHABET) == 32 and len(set(app_passwords.ALPHABET)) == 32
    assert app_passwords.dovecot_hash(password) == (
        "{SHA256.HEX}" + hashlib.sha256(password.encode()).hexdigest())
    assert len({app_passwords.generate()[:app_passwords.SELECTOR_LENGTH] for _ in range(50)}) > 40


def test_a_code_is_taken_once_and_a_recovery_code_once(session):
    address = "ann@example.test"
    secret = twofactor.begin(session, address).secret
    totp = pyotp.TOTP(secret)
    codes = twofactor.confirm(session, address, totp.now())
    assert len(codes) == twofactor.RECOVERY_CODES and twofactor.is_on(session, address)
    assert not twofactor.check_code(session, address, totp.now())  # the confirming code's step
    assert twofactor.check_code(session, address, codes[3])
    assert not twofactor.check_code(session, address, codes[3])
    assert twofactor.recovery_codes_left(session, address) == twofactor.RECOVERY_CODES - 1
    renewed = twofactor.renew_recovery_codes(session, address)
    assert not twofactor.check_code(session, address, codes[4])
    assert twofactor.check_code(session, address, renewed[0])


def test_enrolment_needs_a_right_first_code_and_cannot_start_twice(session):
    from core.services.errors import InvalidInput, Refused

    row = twofactor.begin(session, "bob@example.test")
    with pytest.raises(InvalidInput):
        twofactor.confirm(session, "bob@example.test", "000000" if pyotp.TOTP(row.secret).now() != "000000"
                          else "111111")
    assert not twofactor.is_on(session, "bob@example.test")
    twofactor.confirm(session, "bob@example.test", pyotp.TOTP(row.secret).now())
    with pytest.raises(Refused):
        twofactor.begin(session, "bob@example.test")
    twofactor.turn_off(session, "bob@example.test")
    session.commit()
    assert not twofactor.is_on(session, "bob@example.test")
    assert twofactor.recovery_codes_left(session, "bob@example.test") == 0


def test_a_web_sessions_credential_goes_with_the_session(session):
    from core.models import AppPassword, WebSession
    from core.services.access import signin

    session.add(WebSession(id="s1", address="ann@example.test", sealed_credential=b""))
    session.flush()
    app_passwords.issue_web_credential(session, "ann@example.test", "s1")
    app_passwords.create(session, "ann@example.test", "Phone")
    assert [p.name for p in app_passwords.listed(session, "ann@example.test")] == ["Phone"]
    assert signin.has_web_credential(session, "s1")
    signin.sign_out(session, "s1")
    assert session.query(AppPassword).filter_by(address="ann@example.test").count() == 1


def test_removing_a_mailbox_forgets_its_secrets_waiting_messages_and_choices(directory, tmp_path):
    from datetime import datetime, timezone

    from core.models import AppPassword, IdentitySettings, RecoveryCode, ScheduledMessage, TwoFactor
    from core.services.directory import lookup, mailboxes
    from core.services.mail import identities

    address = "bob@example.test"
    with directory.factory() as s:
        twofactor.confirm(s, address, pyotp.TOTP(twofactor.begin(s, address).secret).now())
    with directory.transaction() as s:
        app_passwords.create(s, address, "Phone")
    with directory.transaction() as s:
        s.add(ScheduledMessage(address=address, sender=address, recipients="ann@example.test\n",
                               source=b"Subject: later\r\n\r\nx\r\n", sealed_credential=b"x",
                               send_at=datetime(2030, 1, 1, tzinfo=timezone.utc)))
        s.add(IdentitySettings(address=address, sender=address, bcc="watcher@example.test"))
        identities.save_notifications(s, address, True, ["Lists"])
    with directory.transaction() as s:
        mailboxes.delete_mailbox(s, "tests", lookup.get_mailbox(s, address), False, tmp_path)
    with directory.transaction() as s:
        for model in (TwoFactor, RecoveryCode, AppPassword, ScheduledMessage, IdentitySettings):
            assert s.query(model).filter_by(address=address).count() == 0, model
        assert identities.notification_folders(s, address) == []
        assert not identities.preferences(s, address).notifications


def test_a_name_in_use_is_refused_so_a_form_sent_again_makes_no_second_secret(session):
    from core.services.access import api_tokens
    from core.services.directory import lookup
    from core.services.errors import InvalidInput

    lookup.add_domain(session, "example.test")
    lookup.add_mailbox(session, "ann@example.test", "A-long-enough-pass-1")  # a token needs an owner
    app_passwords.create(session, "ann@example.test", "Phone")
    with pytest.raises(InvalidInput, match="already have an app password named “phone”"):
        app_passwords.create(session, "ann@example.test", " phone ")
    token = api_tokens.create(session, "ann@example.test", "Backup script", ["personal:read"], "", False)
    with pytest.raises(InvalidInput, match="already have a token named “Backup script”"):
        api_tokens.create(session, "ann@example.test", "Backup  script", ["personal:read"], "", False)
    assert [p.name for p in app_passwords.listed(session, "ann@example.test")] == ["Phone"]
    app_passwords.revoke(session, "ann@example.test", app_passwords.listed(session, "ann@example.test")[0].id)
    api_tokens.revoke(session, "ann@example.test", token.token.id)
    app_passwords.create(session, "ann@example.test", "Phone")  # free again once revoked
    api_tokens.create(session, "ann@example.test", "Backup script", ["personal:read"], "", False)
