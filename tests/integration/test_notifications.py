"""New-mail notifications and the installable app (issue 20 item 4), against the real stack.

The stream is read from waitress, as browsers get it in production, while Postfix
delivers a message; the manifest and service worker are checked as browsers fetch them.
"""
from __future__ import annotations

import http.client
import json
import re
import time
import uuid
from urllib.parse import urlsplit

from app import SECURITY_HEADERS
from tests.helpers import csrf_token, deliver_raw, imap_login, new_address, signed_in_client

STRICT_CSP = SECURITY_HEADERS["Content-Security-Policy"]


def notifications_on(app, address: str, folders: tuple[str, ...] = ()):
    """A test client of ADDRESS, who turned notifications on in Settings (with FOLDERS)."""
    client = signed_in_client(app, address)
    page = client.get("/settings/notifications").get_data(as_text=True)
    answer = client.post("/settings/notifications",
                         data={"notifications": "on", "folders": list(folders), "csrf_token": csrf_token(page)})
    assert answer.status_code == 302
    return client


def open_stream(live_url: str, client) -> http.client.HTTPResponse:
    """GET /mail/events from waitress with CLIENT's session cookie; the response, unread."""
    where = urlsplit(live_url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    conn.request("GET", "/mail/events", headers={
        "Accept": "text/event-stream", "Cookie": f"session={client.get_cookie('session').value}"})
    return conn.getresponse()


def listening(app, live_url: str, address: str, folders: tuple[str, ...] = ()):
    """(ADDRESS's test client, a stream of theirs past its first unread count, that count)."""
    client = notifications_on(app, address, folders)
    stream = open_stream(live_url, client)
    assert stream.status == 200
    return client, stream, next_event(stream, "unseen")


def ends_within(stream, seconds: float) -> None:
    """Read STREAM to its end, failing when that takes longer than SECONDS."""
    started = time.monotonic()
    while stream.readline():
        assert time.monotonic() - started < seconds, "the stream goes on"


def next_event(response, kind: str) -> dict:
    """Read the stream until an event of KIND; its data."""
    while True:
        line = response.readline()
        assert line, f"the stream ended before a {kind!r} event"
        if line.decode().strip() == f"event: {kind}":
            return json.loads(response.readline().decode().removeprefix("data:"))


def test_the_stream_tells_of_mail_delivered_through_postfix(app, live_url, mail_stack, stack_db,
                                                            domain, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_HEARTBEAT_SECONDS", 2)
    address = new_address(stack_db, domain, "notify", spam_to_junk=False)
    _client, stream, unseen = listening(app, live_url, address)
    assert stream.getheader("Content-Type").startswith("text/event-stream")
    assert stream.getheader("Cache-Control") == "no-store"
    assert unseen == {"inbox": 0}

    subject = f"Budget {uuid.uuid4().hex[:8]}"
    deliver_raw(mail_stack, address, (f"From: Anna Rossi <anna@outside.test>\r\nTo: {address}\r\n"
                                      f"Subject: {subject}\r\n\r\nThe figures.\r\n").encode())
    mail = next_event(stream, "mail")
    assert mail["from"] == "Anna Rossi" and mail["subject"] == subject
    assert re.fullmatch(rf"/mail/{mail['uid']}\?folder=INBOX", mail["url"])
    assert next_event(stream, "unseen") == {"inbox": 1}
    stream.close()


def test_new_mail_in_a_chosen_folder_is_told_and_others_are_not(app, live_url, mail_stack, stack_db,
                                                                 domain, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_HEARTBEAT_SECONDS", 1)
    address = new_address(stack_db, domain, "notify", spam_to_junk=False)
    with imap_login(mail_stack, address) as imap:
        imap.create_folder("Lists")
        imap.create_folder("Quiet")
    client, stream, _ = listening(app, live_url, address, ("Lists", "Gone"))
    page = client.get("/settings/notifications").get_data(as_text=True)
    assert re.search(r'name="folders" value="Lists"\s+checked', page)
    assert re.search(r'name="folders" value="Quiet"\s+>', page)

    def filed(folder: str, subject: str, flags: tuple = ()) -> None:
        with imap_login(mail_stack, address) as imap:  # as a Sieve rule or another client files it
            imap.append(folder, (f"From: Lena Hart <lena@outside.test>\r\nTo: {address}\r\n"
                                 f"Subject: {subject}\r\n\r\nHi.\r\n").encode(), flags)

    filed("Quiet", "not this one")
    filed("Lists", "Digest of the week")
    mail = next_event(stream, "mail")
    assert (mail["folder"], mail["from"], mail["subject"]) == ("Lists", "Lena Hart", "Digest of the week")
    assert re.fullmatch(rf"/mail/{mail['uid']}\?folder=Lists", mail["url"])
    filed("Lists", "read already", (b"\\Seen",))  # nothing to tell, but the folder was looked into
    time.sleep(2.5)  # two heartbeats: the stream has looked before the next mail comes
    deliver_raw(mail_stack, address, (f"From: anna@outside.test\r\nTo: {address}\r\n"
                                      "Subject: Back in the Inbox\r\n\r\nHi.\r\n").encode())
    back = next_event(stream, "mail")  # IDLE is on the INBOX again
    assert (back["folder"], back["subject"]) == ("INBOX", "Back in the Inbox")
    stream.close()


def test_too_many_folders_are_refused_and_the_choice_kept(app, stack_db, domain):
    client = signed_in_client(app, new_address(stack_db, domain, "notify"))
    page = client.get("/settings/notifications").get_data(as_text=True)
    answer = client.post("/settings/notifications", data={
        "notifications": "on", "folders": [f"F{i}" for i in range(21)], "csrf_token": csrf_token(page)})
    assert answer.status_code == 422
    assert "Choose at most 20 folders besides the Inbox." in answer.get_data(as_text=True)


def test_signing_out_ends_the_stream(app, live_url, stack_db, domain, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_HEARTBEAT_SECONDS", 1)
    client, stream, _ = listening(app, live_url, new_address(stack_db, domain, "notify"))
    page = client.get("/settings/notifications").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(page)})
    ends_within(stream, 10)


def test_a_stream_ends_at_its_time_limit(app, live_url, stack_db, domain, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_HEARTBEAT_SECONDS", 1)
    monkeypatch.setitem(app.config, "NOTIFY_STREAM_SECONDS", 3)
    _client, stream, _ = listening(app, live_url, new_address(stack_db, domain, "notify"))
    ends_within(stream, 10)  # and the browser opens the next one


def test_a_person_over_the_cap_is_told_to_come_back_later(app, live_url, stack_db, domain, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_STREAMS_PER_PERSON", 1)
    client, first, _ = listening(app, live_url, new_address(stack_db, domain, "notify"))
    second = open_stream(live_url, client)
    assert second.status == 200 and second.read() == b"retry: 60000\n\n"  # ends at once
    first.close()


def test_the_stream_needs_a_session_and_the_setting(app, stack_db, domain):
    anonymous = app.test_client().get("/mail/events")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    off = signed_in_client(app, new_address(stack_db, domain, "quiet")).get("/mail/events")
    assert off.status_code == 204  # EventSource stops asking


def test_manifest_and_service_worker_are_served_as_browsers_need(app):
    client = app.test_client()
    manifest = client.get("/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.mimetype == "application/manifest+json"
    data = manifest.get_json(force=True)
    assert data["display"] == "standalone" and data["start_url"] == "/mail"
    for icon in data["icons"]:
        served = client.get(icon["src"])
        assert served.status_code == 200 and served.mimetype == icon["type"], icon
    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Cache-Control"] == "no-cache"
    for response in (manifest, worker, client.get("/static/offline.html")):
        assert response.headers["Content-Security-Policy"] == STRICT_CSP
    # The worker keeps the shell only: every path it caches is a static file that exists.
    shell = re.findall(r'"(/[^"]*)"', re.search(r"const SHELL = \[(.*?)\];", worker.get_data(as_text=True),
                                                re.S).group(1))
    shell += re.findall(r'const OFFLINE = "([^"]+)"', worker.get_data(as_text=True))
    assert shell and all(p.startswith("/static/") for p in shell)
    for path in shell:
        assert client.get(path).status_code == 200, path


def test_the_page_names_the_stream_only_when_notifications_are_on(app, stack_db, domain):
    address = new_address(stack_db, domain, "notify")
    client = signed_in_client(app, address)
    assert "data-events" not in client.get("/mail").get_data(as_text=True)
    page = client.get("/settings/notifications").get_data(as_text=True)
    client.post("/settings/notifications", data={"notifications": "on", "csrf_token": csrf_token(page)})
    html = client.get("/mail").get_data(as_text=True)
    assert 'data-events="/mail/events"' in html and 'rel="manifest"' in html
