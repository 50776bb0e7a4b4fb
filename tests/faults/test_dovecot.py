"""Dovecot restarted under a signed-in reader, and stopped while a Sieve rule is saved."""
from __future__ import annotations

import html
import re

from core.mail.sieve_rules import read
from tests.helpers import (
    csrf_token, deliver_raw, message, new_address, signed_in_client, uid_of, wait_for_subject,
)
from tests.integration.portal_support import create_folders, managesieve, rule_form, unique

from .support import count, imap_sessions, stopped


def test_dovecot_restart_while_reading_reconnects_and_the_pool_recovers(app, mail_stack, stack_db,
                                                                       domain):
    person = new_address(stack_db, domain, "reader", spam_to_junk=False)
    subjects = [unique("before-restart") for _ in range(3)]
    for subject in subjects:
        deliver_raw(mail_stack, person, bytes(message("ann@outside.test", person, subject)))
    for subject in subjects:
        wait_for_subject(mail_stack, person, subject)
    uid = uid_of(mail_stack, person, subjects[-1])
    web = signed_in_client(app, person)
    assert web.get("/mail?folder=INBOX").status_code == 200  # the pool now holds a session
    assert imap_sessions(mail_stack, person) == 1

    with stopped(mail_stack, "dovecot"):  # a restart: every session, the pooled one too, ends
        down = web.get(f"/mail/{uid}?folder=INBOX")
        assert down.status_code == 503 and "IMAP server (Dovecot)" in down.get_data(as_text=True)

    opened = web.get(f"/mail/{uid}?folder=INBOX")
    assert opened.status_code == 200, opened.get_data(as_text=True)[-2000:]
    assert subjects[-1] in opened.get_data(as_text=True)
    listed = web.get("/mail?folder=INBOX")
    assert listed.status_code == 200
    assert all(subject in listed.get_data(as_text=True) for subject in subjects)
    # The dead session was dropped and one new one serves both requests.
    assert imap_sessions(mail_stack, person) == 1
    assert count(mail_stack, person, "INBOX") == 3
    # What the app writes after the restart reaches the new Dovecot: a new mailbox signs in.
    newcomer = signed_in_client(app, new_address(stack_db, domain, "after-restart"))
    assert newcomer.get("/mail").status_code == 200


def selected_folder(page: str, name: str) -> str:
    """The selected option of the select NAME in PAGE."""
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
    return html.unescape(re.search(r'<option value="([^"]*)" selected', select).group(1))


def test_managesieve_down_while_saving_keeps_the_rule_and_names_the_server(app, mail_stack,
                                                                          stack_db, domain):
    person = new_address(stack_db, domain, "sieve")
    create_folders(mail_stack, person, "Bills")
    web = signed_in_client(app, person)
    token = csrf_token(web.get("/settings/filters/new").get_data(as_text=True))
    marker = unique("invoice")
    form = {**rule_form("Bills to Bills", [("subject", "contains", marker)], [("move", "Bills")]),
            "csrf_token": token}

    with stopped(mail_stack, "dovecot"):  # ManageSieve is one of Dovecot's services
        refused = web.post("/settings/filters/new", data=form)
        page = refused.get_data(as_text=True)
        assert refused.status_code == 503, page[-2000:]
        assert "(Dovecot) does not answer, so nothing was saved" in page
        assert 'value="Bills to Bills"' in page and f'value="{marker}"' in page
        assert selected_folder(page, "act-0-folder") == "Bills"

    with managesieve(mail_stack, person) as store:
        assert "mailroom" not in store.listing().names
    saved = web.post("/settings/filters/new", data=form)  # the kept form, sent again
    assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]
    with managesieve(mail_stack, person) as store:
        [rule] = read(store.get("mailroom")).rules
    assert rule.name == "Bills to Bills" and rule.conditions[0].value == marker
