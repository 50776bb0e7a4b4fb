"""Admin changes take effect in the running mail system at once, proved with real mail.

Every change is made through the admin pages (a signed-in server admin posting the
forms); the effect is checked through Postfix, Dovecot and the Maildirs. Nothing is
restarted between a change and the message that proves it.
"""
from __future__ import annotations

import imaplib
import re
import smtplib
import ssl

import pytest
from aiosmtpd.controller import Controller

from core.mail import imap, smtp
from core.mail.errors import AuthenticationFailed, SmtpError
from core.models import AdminJob, Mailbox
from tests.conftest import free_ports
from tests.helpers import (
    PASSWORD, csrf_token, imap_login, message, new_address, still_answers, submit,
    wait_for_subject,
)
from tests.integration.admin_support import (
    IMAP_FAIL_IP, OUTSIDE, SMTP_FAIL_IP, archived, maildir, rcpt, send_inbound, server_admin, unique,
    wait_until,
)

pytestmark = pytest.mark.directory  # run again on PostgreSQL (stack/test.sh)


@pytest.fixture(scope="module")
def admin(app, stack_db, domain):
    """A signed-in server admin."""
    return server_admin(app, stack_db, domain)


def new_domain(admin) -> str:
    """A fresh local delivery domain added through the admin page."""
    name = f"{unique('d')}.test"
    response = admin.post("/admin/domains", {"name": name})
    assert response.status_code == 302, response.get_data(as_text=True)
    return name


def new_mailbox(admin, address: str) -> str:
    """A mailbox created through the admin page with the tests' password."""
    response = admin.post("/admin/mailboxes/new", {
        "address": address, "password_mode": "password", "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return address


def set_domain(admin, name: str, **fields) -> None:
    """Post the domain form (fields left out are emptied, as a person clearing them)."""
    form = {"mode": "deliver", "relay": "", "bcc": "", "catch_all": "", **fields}
    response = admin.post(f"/admin/domains/{name}", form)
    assert response.status_code == 302, response.get_data(as_text=True)


def shared_folders(cfg, address) -> set[str]:
    """The shared/ folders ADDRESS sees over IMAP right after logging in, and is subscribed to."""
    client = imap_login(cfg, address)
    try:
        listed = {name for _flags, _sep, name in client.list_folders("shared/")}
        subscribed = {name for _flags, _sep, name in client.list_sub_folders("shared/")}
        return listed & subscribed
    finally:
        client.logout()


def test_new_alias_delivers_to_a_user_a_shared_mailbox_and_an_external_address(
        admin, mail_stack, stack_db, domain):
    user, member = new_address(stack_db, domain, "user"), new_address(stack_db, domain, "member")
    outside = new_mailbox(admin, f"{unique('ext')}@{new_domain(admin)}")
    group = unique("team")
    assert admin.post("/admin/groups", {"name": group}).status_code == 302
    assert admin.post(f"/admin/groups/{group}/members", {"address": member}).status_code == 302
    desk = f"{unique('desk')}@{domain}"
    response = admin.post("/admin/shared/new", {"address": desk, "display_name": "Front desk",
                                                 "owners": [group]})
    assert response.status_code == 302, response.get_data(as_text=True)
    alias = f"{unique('all')}@{domain}"
    response = admin.post("/admin/aliases/new", {"address": alias, "mailboxes": user,
                                                  "shared": desk, "external": outside})
    assert response.status_code == 302, response.get_data(as_text=True)

    subject = unique("alias")
    send_inbound(mail_stack, alias, subject)
    wait_for_subject(mail_stack, user, subject)
    wait_for_subject(mail_stack, outside, subject)
    # The group's member reads the shared mailbox's INBOX through the shared namespace.
    wait_for_subject(mail_stack, member, subject, folder=f"shared/{desk}")
    listing = admin.text("/admin/aliases")
    assert alias in listing and "shared mailbox" in listing and "external address" in listing



def test_alias_to_a_missing_address_on_a_local_domain_is_refused_naming_it(admin, domain):
    alias, missing = f"{unique('team')}@{domain}", f"{unique('nobody')}@{domain}"
    response = admin.post("/admin/aliases/new", {"address": alias, "external": missing})
    assert response.status_code == 400
    assert f"{missing} does not exist here" in response.get_data(as_text=True)
    assert alias not in admin.text("/admin/aliases")


def test_relay_host_without_a_port_is_port_25_as_the_page_says(admin):
    name = new_domain(admin)
    assert "the port defaults to 25" in admin.text(f"/admin/domains/{name}")
    set_domain(admin, name, mode="relay", relay="mail.example.org")
    assert 'value="mail.example.org:25"' in admin.text(f"/admin/domains/{name}")


def test_catch_all_takes_unknown_recipients_and_without_it_rcpt_is_refused(admin, mail_stack):
    name = new_domain(admin)
    catcher = new_mailbox(admin, f"catch@{name}")
    unknown = f"{unique('nobody')}@{name}"
    assert rcpt(mail_stack, unknown)[0] == 550
    set_domain(admin, name, catch_all=catcher)
    assert rcpt(mail_stack, unknown)[0] == 250
    subject = unique("catch")
    send_inbound(mail_stack, unknown, subject)
    wait_for_subject(mail_stack, catcher, subject)
    set_domain(admin, name, catch_all="")
    code, text = rcpt(mail_stack, unknown)
    assert code == 550 and b"unknown" in text.lower()


def test_always_bcc_copy_arrives(admin, mail_stack):
    name = new_domain(admin)
    person, archive = new_mailbox(admin, f"person@{name}"), new_mailbox(admin, f"archive@{name}")
    set_domain(admin, name, bcc=archive)
    subject = unique("bcc")
    send_inbound(mail_stack, person, subject)
    wait_for_subject(mail_stack, person, subject)
    wait_for_subject(mail_stack, archive, subject)


def test_relay_domain_mail_is_handed_to_the_relay_host(admin, mail_stack):
    received: list[bytes] = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            received.append(envelope.original_content or envelope.content)
            return "250 OK"

    port = free_ports(1)[0]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        name = new_domain(admin)
        set_domain(admin, name, mode="relay", relay=f"127.0.0.1:{port}")
        subject = unique("relay")
        send_inbound(mail_stack, f"someone@{name}", subject, source=OUTSIDE)
        assert wait_until(lambda: any(subject.encode() in m for m in received), 30)
    finally:
        controller.stop()


def test_local_network_only_alias_refuses_outside_and_accepts_a_signed_in_user(
        admin, mail_stack, stack_db, domain):
    target = new_address(stack_db, domain, "quiet")
    alias = f"{unique('staff')}@{domain}"
    response = admin.post("/admin/aliases/new", {"address": alias, "mailboxes": target,
                                                  "local_only": "on"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert rcpt(mail_stack, target)[0] == 250  # the outside address may send here in general
    code, text = rcpt(mail_stack, alias)
    assert code == 554 and b"local network only" in text
    subject = unique("inside")
    submit(mail_stack, new_address(stack_db, domain, "colleague"), alias, subject)
    wait_for_subject(mail_stack, target, subject)


def test_sender_may_use_own_address_and_aliases_only(admin, mail_stack, stack_db, domain):
    sender, other = new_address(stack_db, domain, "writer"), new_address(stack_db, domain, "other")
    alias = f"{unique('sales')}@{domain}"
    assert admin.post("/admin/aliases/new", {"address": alias, "mailboxes": sender}).status_code == 302
    settings = smtp.SmtpSettings.submission(mail_stack)
    subject = unique("as-alias")
    smtp.send(settings, message(alias, other, subject), login=(sender, PASSWORD))
    wait_for_subject(mail_stack, other, subject)
    with pytest.raises(SmtpError, match="553"):
        smtp.send(settings, message(other, sender, unique("spoof")), login=(sender, PASSWORD))


def test_admin_forwarding_is_the_portal_setting_and_is_obeyed(admin, mail_stack, stack_db, domain):
    person = new_address(stack_db, domain, "away")
    elsewhere = new_mailbox(admin, f"{unique('fwd')}@{new_domain(admin)}")
    response = admin.post(f"/admin/mailboxes/{person}", {
        "display_name": "", "enabled": "on", "quota": "", "junk_days": "",
        "forward_address": elsewhere})  # "keep a copy" left unticked
    assert response.status_code == 302, response.get_data(as_text=True)
    subject = unique("forward")
    send_inbound(mail_stack, person, subject)
    wait_for_subject(mail_stack, elsewhere, subject)
    client = imap_login(mail_stack, person)
    try:
        client.select_folder("INBOX", readonly=True)
        assert not client.search(["SUBJECT", subject])
    finally:
        client.logout()


def test_group_membership_and_rename_reach_imap(admin, mail_stack, stack_db, domain):
    member = new_address(stack_db, domain, "joiner")
    group = unique("grp")
    assert admin.post("/admin/groups", {"name": group}).status_code == 302
    desk = f"{unique('box')}@{domain}"
    assert admin.post("/admin/shared/new", {"address": desk, "owners": [group]}).status_code == 302
    assert f"shared/{desk}" not in shared_folders(mail_stack, member)
    assert admin.post(f"/admin/groups/{group}/members", {"address": member}).status_code == 302
    assert f"shared/{desk}" in shared_folders(mail_stack, member)
    renamed = unique("renamed")
    assert admin.post(f"/admin/groups/{group}", {"name": renamed}).status_code == 302
    assert f"shared/{desk}" in shared_folders(mail_stack, member)
    response = admin.post(f"/admin/groups/{renamed}/delete")
    assert response.status_code == 400 and desk in response.get_data(as_text=True)
    assert admin.post(f"/admin/groups/{renamed}/members/remove", {"address": member}).status_code == 302
    assert f"shared/{desk}" not in shared_folders(mail_stack, member)


def test_folder_shared_from_an_imap_client_is_listed(admin, mail_stack, stack_db, domain):
    owner, reader = new_address(stack_db, domain, "sharer"), new_address(stack_db, domain, "reader")
    folder = unique("Projects")
    client = imap_login(mail_stack, owner)
    try:
        client.create_folder(folder)
        client.setacl(folder, reader, "lr")
    finally:
        client.logout()
    page = admin.text("/admin/shared")
    assert owner in page and folder in page and f"user={reader}" in page


def test_disabled_mailbox_cannot_log_in_but_still_receives(admin, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "paused")
    already_open = imap_login(mail_stack, address)
    response = admin.post(f"/admin/mailboxes/{address}", {
        "display_name": "Paused", "quota": "", "junk_days": "", "forward_address": ""})
    assert response.status_code == 302  # "access to mail services" left unticked
    def session_ended() -> bool:
        try:
            already_open.noop()
        except (imaplib.IMAP4.abort, OSError):
            return True
        return False

    # Its open session was ended too; doveadm kick signals the process, which takes a moment.
    assert wait_until(session_ended)
    settings = imap.ImapSettings.from_config(mail_stack)
    with pytest.raises(AuthenticationFailed):
        imap.login(settings, address, PASSWORD, client_ip=IMAP_FAIL_IP)
    with smtplib.SMTP(mail_stack["LISTEN_ADDRESS"], mail_stack["SUBMISSION_PORT"],
                      local_hostname="localhost", timeout=30,
                      source_address=(SMTP_FAIL_IP, 0)) as conn:
        conn.starttls(context=ssl.create_default_context(cafile=mail_stack["TLS_CA_FILE"]))
        conn.ehlo()
        conn.user, conn.password = address, PASSWORD
        with pytest.raises(smtplib.SMTPAuthenticationError):
            conn.auth("PLAIN", conn.auth_plain)
    subject = unique("still-delivered")
    send_inbound(mail_stack, address, subject)
    assert wait_until(lambda: any(subject in p.read_text(errors="replace")
                                  for p in maildir(mail_stack, address).glob("*/*")
                                  if p.parent.name in ("new", "cur")))
    admin.post(f"/admin/mailboxes/{address}", {"display_name": "Paused", "enabled": "on",
                                                "quota": "", "junk_days": "", "forward_address": ""})
    wait_for_subject(mail_stack, address, subject)  # logs in again, and finds it


def test_deleting_a_mailbox_keeps_its_mail_unless_erasing_is_confirmed(
        admin, mail_stack, stack_db, domain):
    kept, erased = new_address(stack_db, domain, "kept"), new_address(stack_db, domain, "erased")
    for address in (kept, erased):
        subject = unique("before")
        send_inbound(mail_stack, address, subject)
        wait_for_subject(mail_stack, address, subject)
    page = admin.text(f"/admin/mailboxes/{kept}/delete")
    assert "Keep the mail in the archive" in page
    assert admin.post(f"/admin/mailboxes/{kept}/delete", {"mail": "keep"}).status_code == 302
    assert wait_until(lambda: archived(mail_stack, kept), 30)  # out of a new owner's reach
    assert rcpt(mail_stack, kept, "127.0.0.1")[0] == 550

    asked = admin.post(f"/admin/mailboxes/{erased}/delete", {"mail": "erase"})
    assert asked.status_code == 200 and "cannot be undone" in asked.get_data(as_text=True)
    with stack_db.transaction() as session:
        assert session.query(Mailbox).filter_by(address=erased).count() == 1
    done = admin.post(f"/admin/mailboxes/{erased}/delete",
                      {"mail": "erase", "confirm_erase": erased})
    assert done.status_code == 302
    assert wait_until(lambda: not maildir(mail_stack, erased).parent.exists(), 30)
    with stack_db.transaction() as session:
        job = session.query(AdminJob).filter_by(target=erased).one()
        assert job.state == "done", job.error
    assert archived(mail_stack, kept) and not archived(mail_stack, erased)


def test_deleting_a_domain_keeps_the_stored_mail(admin, mail_stack):
    name = new_domain(admin)
    person = new_mailbox(admin, f"keeper@{name}")
    subject = unique("stays")
    send_inbound(mail_stack, person, subject)
    wait_for_subject(mail_stack, person, subject)
    page = admin.text(f"/admin/domains/{name}/delete")
    assert "Stored mail is never deleted" in page and person in page
    refused = admin.post(f"/admin/domains/{name}/delete", {"confirm_name": "not-it.test"})
    assert refused.status_code == 400
    assert admin.post(f"/admin/domains/{name}/delete", {"confirm_name": name}).status_code == 302
    # No longer a domain of ours: refused (454 "relay access denied" by defer_unauth_destination).
    assert rcpt(mail_stack, person)[0] >= 400
    assert wait_until(lambda: any(subject in p.read_text(errors="replace")
                                  for home in archived(mail_stack, person)
                                  for p in home.glob("Maildir/*/*") if p.is_file()), 30)
    assert not maildir(mail_stack, person).exists()


def test_dashboard_shows_quota_use_sorted_and_by_domain(admin, mail_stack):
    name = new_domain(admin)
    busy, idle = new_mailbox(admin, f"busy@{name}"), new_mailbox(admin, f"idle@{name}")
    subject = unique("big")
    smtp.send(smtp.SmtpSettings.inbound(mail_stack),
              message("someone@outside.test", busy, subject, "x" * 200_000))
    wait_for_subject(mail_stack, busy, subject)
    page = admin.text(f"/admin/?domain={name}&sort=used&order=desc")
    assert page.index(busy) < page.index(idle)
    page = admin.text(f"/admin/?domain={name}&sort=used&order=asc")
    assert page.index(idle) < page.index(busy)
    table = page.split("<tbody>")[1].split("</tbody>")[0]
    assert admin.address not in table  # a mailbox of another domain is filtered out


def test_dashboard_counts_the_postfix_queue(admin, mail_stack):
    name = new_domain(admin)
    closed = free_ports(1)[0]  # nothing listens there: the relay defers the message
    set_domain(admin, name, mode="relay", relay=f"127.0.0.1:{closed}")
    send_inbound(mail_stack, f"someone@{name}", unique("queued"))

    def queued() -> int:
        page = admin.text("/admin/")
        return int(re.search(r'aria-label="(\d+) messages in the mail queue"', page).group(1))

    assert wait_until(lambda: queued() >= 1, 30)


def test_one_time_link_lets_the_owner_choose_the_password(admin, app, mail_stack, domain):
    address = f"{unique('newbie')}@{domain}"
    page = admin.post("/admin/mailboxes/new", {"address": address, "password_mode": "link"})
    assert page.status_code == 200
    link = page.get_data(as_text=True).split('data-select-all')[0].rsplit('value="', 1)[1].split('"')[0]
    path = "/set-password/" + link.rsplit("/set-password/", 1)[1]
    visitor = app.test_client()
    form = visitor.get(path)
    assert form.status_code == 200 and address in form.get_data(as_text=True)
    token = csrf_token(form.get_data(as_text=True))
    assert visitor.post(path, data={"password": "short", "password_again": "short",
                                    "csrf_token": token}).status_code == 400
    done = visitor.post(path, data={"password": PASSWORD, "password_again": PASSWORD,
                                    "csrf_token": token})
    assert done.status_code == 302
    imap_login(mail_stack, address).logout()
    assert visitor.get(path).status_code == 404  # used up


def test_every_change_is_in_the_audit_log_with_before_and_after(admin, stack_db, domain):
    address = new_address(stack_db, domain, "audited")
    admin.post(f"/admin/mailboxes/{address}", {"display_name": "", "enabled": "on",
                                                "quota": "2G", "junk_days": "", "forward_address": ""})
    page = admin.text(f"/admin/audit?kind=mailbox&q={address}")
    assert admin.address in page and address in page
    assert "quota_mb" in page and "<ins>2048</ins>" in page
    assert "No changes match" in admin.text(f"/admin/audit?kind=group&q={address}")


def test_one_time_link_ends_the_mail_sessions_opened_with_the_old_password(
        admin, app, mail_stack, stack_db, domain):
    # A reset link is how an admin recovers a stolen account: the thief's IMAP session goes too.
    address = new_address(stack_db, domain, "recovered")
    thief = imap_login(mail_stack, address)
    thief.select_folder("INBOX")
    page = admin.post(f"/admin/mailboxes/{address}/link", {})
    link = page.get_data(as_text=True).split('data-select-all')[0].rsplit('value="', 1)[1].split('"')[0]
    path = "/set-password/" + link.rsplit("/set-password/", 1)[1]
    owner = app.test_client()
    token = csrf_token(owner.get(path).get_data(as_text=True))
    new = "recovered at last 42"
    done = owner.post(path, data={"password": new, "password_again": new, "csrf_token": token})
    assert done.status_code == 302
    assert not still_answers(thief)
