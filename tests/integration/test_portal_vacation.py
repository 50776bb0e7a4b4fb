"""The vacation reply through the web form, answered by Pigeonhole over real SMTP."""
import re
from datetime import date, timedelta

import pytest

from app import create_app
from core.mail.sieve_rules import read
from tests.conftest import free_ports
from tests.helpers import new_address, signed_in_client, wait_for_subject
from tests.integration.portal_support import managesieve, post, send, settle, subjects, unique

PAGE = "/settings/vacation"


@pytest.fixture
def away(app, stack_db, domain):
    """A signed-in person and a local sender who can receive replies."""
    address = new_address(stack_db, domain, "away")
    sender = new_address(stack_db, domain, "writer")
    client = signed_in_client(app, address)
    return address, sender, client


def form(subject, **changes):
    return {"enabled": "on", "subject": subject, "message": "I am away until Monday.\nRegards",
            "days": "1", "start": "", "end": "", **changes}


def replies(cfg, sender, subject):
    return [s for s in subjects(cfg, sender) if s == subject]


def test_reply_arrives_once_per_sender_and_never_to_lists(mail_stack, away):
    address, sender, client = away
    reply_subject = unique("Out of office")
    response = post(client, PAGE, form(reply_subject))
    assert response.status_code == 302
    send(mail_stack, address, unique("first"), sender=sender)
    reply = wait_for_subject(mail_stack, sender, reply_subject)
    assert b"I am away until Monday." in reply and b"Auto-Submitted: auto-replied" in reply
    send(mail_stack, address, unique("second"), sender=sender)
    send(mail_stack, address, unique("list"), sender=sender, headers={"List-Id": "<team.example.test>"})
    send(mail_stack, address, unique("bulk"), sender=sender, headers={"Precedence": "bulk"})
    settle(mail_stack, address)
    settle(mail_stack, sender)
    assert len(replies(mail_stack, sender, reply_subject)) == 1


def test_reply_waits_for_its_first_day_and_can_be_switched_off(mail_stack, stack_db, domain, away):
    address, sender, client = away
    reply_subject = unique("Later")
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    assert post(client, PAGE, form(reply_subject, start=tomorrow)).status_code == 302
    send(mail_stack, address, unique("early"), sender=sender)
    settle(mail_stack, address)
    settle(mail_stack, sender)
    assert replies(mail_stack, sender, reply_subject) == []
    off = form(reply_subject)
    del off["enabled"]
    assert post(client, PAGE, off).status_code == 302
    other = new_address(stack_db, domain, "other")
    send(mail_stack, address, unique("while off"), sender=other)
    settle(mail_stack, address)
    settle(mail_stack, other)
    assert replies(mail_stack, other, reply_subject) == []
    with managesieve(mail_stack, address) as store:
        kept = read(store.get("mailroom")).vacation
    assert kept.enabled is False and kept.subject == reply_subject  # the text is kept for next time


def test_too_long_message_is_refused_with_the_limit_and_kept(mail_stack, away):
    address, _, client = away
    long_text = "Away. " * 2000
    response = post(client, PAGE, form("Away", message=long_text))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "the limit is 8,192 bytes" in page
    assert re.search(r'<textarea[^>]*name="message"[^>]*>Away\. Away\.', page)
    with managesieve(mail_stack, address) as store:
        assert "mailroom" not in store.listing().names


def test_vacation_answers_for_chosen_aliases(mail_stack, stack_db, domain, away):
    from core.services.directory import aliases
    from core.services.directory.lookup import SYSTEM_ACTOR

    address, sender, client = away
    alias = f"{unique('desk')}@{domain}"
    with stack_db.transaction() as session:
        aliases.create_alias(session, SYSTEM_ACTOR, alias, [address])
    page = client.get(PAGE).get_data(as_text=True)
    assert f'value="{alias}"' in page
    reply_subject = unique("Alias reply")
    assert post(client, PAGE, {**form(reply_subject), "addresses": alias}).status_code == 302
    send(mail_stack, alias, unique("to alias"), sender=sender)
    wait_for_subject(mail_stack, sender, reply_subject)
    refused = post(client, PAGE, {**form(reply_subject), "addresses": "boss@example.test"})
    assert refused.status_code == 422 and "not one of your addresses" in refused.get_data(as_text=True)


def test_managesieve_down_keeps_the_typed_reply(mail_stack, away):
    address, _, _ = away
    broken = create_app({**mail_stack, "ENV": "testing", "SIEVE_PORT": free_ports(1)[0]})
    client = signed_in_client(broken, address)
    assert client.get(PAGE).status_code == 503
    response = post(client, "/settings/password", form("Typed subject", message="Typed words."), PAGE)
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and "ManageSieve server (Dovecot) does not answer" in page
    assert 'value="Typed subject"' in page and "Typed words." in page
