"""Message tracking (issue 13 items 8, 9): real messages through the stack, then their path
as `track`, Admin → Server → Message tracking, the webmail's Delivery details and the
dashboard's counts tell it, read from Postfix's and Rspamd's logs by the privileged helper.
"""
from __future__ import annotations

import json
import smtplib
from email.utils import make_msgid

import pytest

from core.mail import smtp as smtp_store
from core.services.server import mailstore, tracking
from tests.conftest import free_ports
from tests.helpers import (PASSWORD, imap_login, message, new_address, new_domain_admin,
                           new_server_admin, signed_in_client, submit, uid_of)
from tests.integration.admin_support import AdminClient, send_inbound, unique, wait_until

from .server_support import postfix_tool, queued

WEB_IP = "127.0.0.90"
OUTSIDE = "127.0.0.91"  # not in mynetworks: may not relay
ORDER = ("received", "cleanup", "queued", "filter")


def in_order_with_scan(entry: dict, *after: str) -> bool:
    """ORDER then AFTER, and Rspamd's scan between the arrival and the filter. Rspamd logs its
    verdict when it has answered the milter, so on a loaded machine that line can come after
    Postfix's 'queued' line for the same message (a full run saw it once)."""
    return in_order(entry, (*ORDER, *after)) and in_order(entry, ("received", "rspamd", "filter"))


@pytest.fixture(scope="module")
def admin(app, stack_db, domain):
    return AdminClient(app, new_server_admin(stack_db, domain, "tracker"), ip=WEB_IP)


@pytest.fixture(scope="module")
def down_domain(admin):
    """A relay domain whose relay host does not answer: its mail is deferred."""
    name = f"{unique('unreachable')}.test"
    assert admin.post("/admin/domains", {"name": name}).status_code == 302
    closed = free_ports(1)[0]
    assert admin.post(f"/admin/domains/{name}", {"mode": "relay", "relay": f"127.0.0.1:{closed}",
                                                  "bcc": "", "catch_all": ""}).status_code == 302
    return name


def cli(app, *args: str):
    """`flask --app app ARGS`: (exit code, JSON answer or output)."""
    result = app.test_cli_runner().invoke(args=list(args))
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result.exit_code, (json.loads(result.output) if result.exit_code == 0 and "--json" in args
                              else result.output)


def tracked(app, query: str, status: str, timeout: float = 30) -> dict:
    """The one message `track QUERY --json` finds, once it has STATUS."""
    found = {}

    def ready() -> bool:
        code, answer = cli(app, "track", query, "--json")
        assert code == 0, answer
        found["all"] = answer
        return len(answer) == 1 and answer[0]["status"] == status
    assert wait_until(ready, timeout, 0.5), found.get("all")
    return found["all"][0]


def stages(entry: dict) -> list[str]:
    return [event["stage"] for event in entry["events"]]


def in_order(entry: dict, wanted: tuple[str, ...]) -> bool:
    """Whether WANTED's stages come in this order in ENTRY's events (others between)."""
    remaining = iter(stages(entry))
    return all(stage in remaining for stage in wanted)


def test_submitted_mail_to_a_mailbox_is_tracked_as_delivered_through_the_filter(
        app, mail_stack, stack_db, domain):
    sender, local = new_address(stack_db, domain, "tsend"), new_address(stack_db, domain, "tlocal")
    submit(mail_stack, sender, local, unique("tracked"))
    entry = tracked(app, local, "delivered")

    assert in_order_with_scan(entry, "delivered", "removed"), stages(entry)
    assert stages(entry)[-1] == "removed" and stages(entry).count("removed") == 2
    assert len(entry["queue_ids"]) == 2  # submitted, then re-injected by the disclaimer filter
    assert entry["sender"] == sender and entry["recipients"] == [{"address": local, "status": "delivered"}]
    received = entry["events"][0]["detail"]
    assert "submission" in received and "TLS" in received and f"signed in as {sender}" in received
    verdict = next(e["detail"] for e in entry["events"] if e["stage"] == "rspamd")
    assert "score" in verdict and "/" in verdict
    delivered = next(e["detail"] for e in entry["events"] if e["stage"] == "delivered")
    assert "dsn 2.0.0" in delivered and "lmtp" in delivered
    times = [e["time"] for e in entry["events"]]
    assert times == sorted(times)
    # The same message by its Message-ID, by either queue id, and among the sender's.
    for query in (entry["message_id"], f"<{entry['message_id']}>", *entry["queue_ids"]):
        assert [m["queue_id"] for m in cli(app, "track", query, "--json")[1]] == [entry["queue_id"]]
    assert entry["queue_id"] in [m["queue_id"] for m in cli(app, "track", sender, "--json")[1]]


def test_mail_for_an_unreachable_relay_is_tracked_as_deferred(app, mail_stack, stack_db, domain,
                                                             down_domain):
    sender, far = new_address(stack_db, domain, "tdefer"), f"{unique('far')}@{down_domain}"
    submit(mail_stack, sender, far, unique("deferred"))
    entry = tracked(app, far, "deferred")
    try:
        assert in_order_with_scan(entry, "deferred"), stages(entry)
        # Still waiting in Postfix's queue. (The timeline's last line may be the removal of the
        # copy that went through the disclaimer filter, logged after the deferral under load.)
        assert (queued(mail_stack, far) or {}).get("queue_name") == "deferred"
        deferred = next(e["detail"] for e in entry["events"] if e["stage"] == "deferred")
        assert "dsn 4.4.1" in deferred and "Connection refused" in deferred
        assert entry["recipients"] == [{"address": far, "status": "deferred"}]
    finally:
        postfix_tool(mail_stack, "postsuper", "-d", entry["queue_ids"][-1])


def test_a_refused_recipient_is_tracked_as_rejected(app, mail_stack):
    sender, far = f"{unique('stranger')}@outside.test", f"{unique('anyone')}@elsewhere.example"
    with smtplib.SMTP(mail_stack["LISTEN_ADDRESS"], mail_stack["SMTP_PORT"], local_hostname="client.test",
                      timeout=30, source_address=(OUTSIDE, 0)) as conn:
        conn.ehlo()
        conn.mail(sender)
        code, _text = conn.rcpt(far)
    assert code == 554
    entry = tracked(app, far, "rejected")
    assert entry["queue_id"] == "" and entry["sender"] == sender
    assert stages(entry) == ["rejected"] and "Relay access denied" in entry["events"][0]["detail"]


def test_since_and_bad_input(app):
    code, answer = cli(app, "track", "", "--since", "2999-01-01T00:00", "--json")
    assert code == 0 and answer == []
    code, output = cli(app, "track", "x", "--since", "yesterday")
    assert code != 0 and "not a date" in output


def sent_copy(cfg: dict, owner: str, raw: bytes) -> int:
    """Put RAW into OWNER's Sent folder (as a mail program does after sending); its UID."""
    client = imap_login(cfg, owner)
    try:
        if not client.folder_exists("Sent"):
            client.create_folder("Sent")
        client.append("Sent", raw)
    finally:
        client.logout()
    subject = raw.split(b"Subject: ", 1)[1].split(b"\n", 1)[0].decode().strip()
    return uid_of(cfg, owner, subject, folder="Sent")


def test_delivery_details_show_ones_own_sent_message_and_never_another_persons(
        app, mail_stack, stack_db, domain):
    ann, bob, to = (new_address(stack_db, domain, p) for p in ("dann", "dbob", "dto"))
    mail = message(ann, to, unique("details"))
    mail["Message-ID"] = make_msgid(domain=domain)
    smtp_store.send(smtp_store.SmtpSettings.submission(mail_stack), mail, login=(ann, PASSWORD))
    queue_id = tracked(app, to, "delivered")["queue_id"]
    raw = mail.as_bytes()

    ann_web = signed_in_client(app, ann, ip=WEB_IP)
    uid = sent_copy(mail_stack, ann, raw)
    page = ann_web.get(f"/mail/{uid}?folder=Sent").get_data(as_text=True)
    assert "Delivery details" in page
    answer = ann_web.get(f"/mail/{uid}/delivery?folder=Sent")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and queue_id in text and to in text and "delivered" in text

    # Bob holds a copy with the same Message-ID in his own Sent: he still sees nothing of it.
    bob_web = signed_in_client(app, bob, ip=WEB_IP)
    bob_uid = sent_copy(mail_stack, bob, raw)
    answer = bob_web.get(f"/mail/{bob_uid}/delivery?folder=Sent")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 404 and queue_id not in text and "no record" in text
    # Nor through Ann's UID (his own mailbox has no such message, or another one).
    assert bob_web.get(f"/mail/{uid + 1000}/delivery?folder=Sent").status_code == 404
    # The helper itself refuses to answer for senders who are not ours.
    assert tracking.track(mail_stack, to, senders=[bob]) == []


def test_admin_page_finds_any_message_and_is_for_server_admins_only(app, admin, mail_stack, stack_db,
                                                                    domain):
    to = new_address(stack_db, domain, "tpage")
    send_inbound(mail_stack, to, unique("inbound"))
    entry = tracked(app, to, "delivered")
    text = admin.text(f"/admin/server/tracking?q={to}")
    assert entry["queue_id"] in text and "delivered" in text and "Message tracking" in text
    assert 'aria-current="page">Message tracking' in text
    assert "via smtpd" in text  # port 25, not submission
    recent = admin.text("/admin/server/tracking")
    assert entry["queue_id"] in recent
    assert admin.get("/admin/server/tracking?since=soon").status_code == 400

    other = AdminClient(app, new_domain_admin(stack_db, domain, domain), ip=WEB_IP)
    assert other.get("/admin/server/tracking").status_code == 403
    assert "Message tracking" not in other.text("/admin/")


def test_dashboard_counts_received_sent_and_rejected_today(app, admin, mail_stack, stack_db, domain):
    def counts() -> dict:
        return mailstore.call(mail_stack, "mail_counts", since=midnight)

    from datetime import datetime
    midnight = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
    before = counts()
    person = new_address(stack_db, domain, "tcount")
    send_inbound(mail_stack, person, unique("in"))
    submit(mail_stack, person, person, unique("out"))
    with smtplib.SMTP(mail_stack["LISTEN_ADDRESS"], mail_stack["SMTP_PORT"], local_hostname="client.test",
                      timeout=30, source_address=(OUTSIDE, 0)) as conn:
        conn.ehlo()
        conn.mail("x@outside.test")
        assert conn.rcpt("y@elsewhere.example")[0] == 554
    wanted = {"received": before["received"] + 1, "sent": before["sent"] + 1,
              "rejected": before["rejected"] + 1}
    # Other tests of the session may send too: at least ours.
    assert wait_until(lambda: all(counts()[k] >= v for k, v in wanted.items()), 20, 0.5), counts()

    tracking._counts_cache.clear()
    text = admin.text("/admin/")
    now = counts()
    for label, key in (("Received today", "received"), ("Sent today", "sent"), ("Rejected today", "rejected")):
        assert f"<dt>{label}</dt>" in text
        shown = int(text.split(f"<dt>{label}</dt><dd>", 1)[1].split("<", 1)[0])
        assert wanted[key] <= shown <= now[key]
