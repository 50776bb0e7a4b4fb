"""Forwarding through the web form (and the admin's column), carried out by Dovecot's Sieve."""
import pytest

from core.services.personal import forwarding
from tests.helpers import new_address, signed_in_client, wait_for_subject
from tests.integration.portal_support import (
    ensure_domain, post, send, settle, subjects, unique, userdb,
)

pytestmark = pytest.mark.directory  # run again on PostgreSQL (stack/test.sh)

PAGE = "/settings/forwarding"


@pytest.fixture
def mover(app, stack_db, domain):
    """A signed-in person and a mailbox on a second local domain to forward to."""
    address = new_address(stack_db, domain, "mover")
    target = new_address(stack_db, ensure_domain(stack_db), "newhome")
    client = signed_in_client(app, address)
    return address, target, client


def test_forward_without_copy_leaves_the_mailbox_empty(mail_stack, mover):
    address, target, client = mover
    assert post(client, PAGE, {"target": target.upper()}).status_code == 302
    assert userdb(mail_stack, address)["sieve_env_mailroom_forward"] == target
    subject = unique("moved")
    send(mail_stack, address, subject)
    wait_for_subject(mail_stack, target, subject)
    settle(mail_stack, target)
    assert subjects(mail_stack, address) == []
    assert f'value="{target}"' in client.get(PAGE).get_data(as_text=True)


def test_forward_with_copy_keeps_one_and_stop_ends_it(mail_stack, mover):
    address, target, client = mover
    assert post(client, PAGE, {"target": target, "keep": "on"}).status_code == 302
    subject = unique("copied")
    send(mail_stack, address, subject)
    wait_for_subject(mail_stack, target, subject)
    wait_for_subject(mail_stack, address, subject)
    assert post(client, PAGE, {"target": target, "stop": "1"}).status_code == 302
    assert "sieve_env_mailroom_forward" not in userdb(mail_stack, address)
    later = unique("after stop")
    send(mail_stack, address, later)
    wait_for_subject(mail_stack, address, later)
    settle(mail_stack, target)
    assert later not in subjects(mail_stack, target)


@pytest.mark.parametrize("typed, message", [
    ("no address here", "is not an e-mail address"),
    ("{me}", "your own address would loop"),
])
def test_bad_targets_are_refused_and_kept(mail_stack, mover, typed, message):
    address, _, client = mover
    typed = typed.format(me=address)
    response = post(client, PAGE, {"target": typed, "keep": "on"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page
    assert f'value="{typed}"' in page
    assert "sieve_env_mailroom_forward" not in userdb(mail_stack, address)


def test_loop_through_another_mailbox_is_refused(mail_stack, stack_db, mover):
    address, target, client = mover
    with stack_db.transaction() as session:
        forwarding.set_forwarding(session, target, address, keep_copy=True)
    response = post(client, PAGE, {"target": target})
    assert response.status_code == 422 and "would loop" in response.get_data(as_text=True)


def test_the_admins_setting_is_the_same_column(mail_stack, stack_db, mover):
    """What the admin pages set (the service on the same columns) is what the portal shows."""
    address, target, client = mover
    with stack_db.transaction() as session:
        forwarding.set_forwarding(session, address, target, keep_copy=False)
    page = client.get(PAGE).get_data(as_text=True)
    assert f'value="{target}"' in page and "Stop forwarding" in page
    subject = unique("admin set")
    send(mail_stack, address, subject)
    wait_for_subject(mail_stack, target, subject)
