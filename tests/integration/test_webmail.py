"""The webmail against the real stack: list, read, attachments, actions, search, polling."""
import re
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest

from core.mail import listing, sanitize, smtp
from tests.helpers import (PASSWORD, csrf_token, deliver_raw, imap_login, new_address,
                           signed_in_client, submit, uid_of, wait_for_subject)

clean = sanitize.sanitize_html
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@pytest.fixture
def person(stack_db, domain):
    return new_address(stack_db, domain, "reader", spam_to_junk=False)


@pytest.fixture
def web(app, person):
    return signed_in_client(app, person)


def _with_attachments(to: str, subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Ben <ben@outside.test>", to, subject
    msg.set_content("See the attachments.")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="dot.png")
    msg.add_attachment(bytes(range(256)) * 40, maintype="application", subtype="octet-stream",
                       filename="../../etc/Bericht März.bin")
    msg.add_attachment("<script>alert(1)</script>", subtype="html", filename="page.html")
    return msg


def test_list_shows_the_message_with_markers_and_counts(mail_stack, web, person):
    subject = f"listed {uuid.uuid4().hex[:8]}"
    deliver_raw(mail_stack, person, _with_attachments(person, subject).as_bytes())
    wait_for_subject(mail_stack, person, subject)
    html = web.get("/mail?folder=INBOX").get_data(as_text=True)
    assert subject in html and "Ben" in html
    assert 'class="row unread' in html and 'aria-label="Has attachments"' in html
    assert 'data-count="unseen">1<' in html


def test_reading_marks_seen_and_attachments_download_byte_identical(mail_stack, web, person):
    subject = f"attachments {uuid.uuid4().hex[:8]}"
    deliver_raw(mail_stack, person, _with_attachments(person, subject).as_bytes())
    uid = uid_of(mail_stack, person, subject)
    page = web.get(f"/mail/{uid}?folder=INBOX")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and subject in html and "See the attachments." in html
    client = imap_login(mail_stack, person)
    client.select_folder("INBOX", readonly=True)
    assert b"\\Seen" in client.get_flags([uid])[uid]
    client.logout()
    binary = web.get(f"/mail/{uid}/part/3?folder=INBOX")
    assert binary.data == bytes(range(256)) * 40
    assert binary.headers["X-Content-Type-Options"] == "nosniff"
    disposition = binary.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "/" not in disposition.split("filename")[1]
    assert "Bericht%20M%C3%A4rz.bin" in disposition
    image = web.get(f"/mail/{uid}/part/2?folder=INBOX&inline=1")
    assert image.data == PNG and image.headers["Content-Type"] == "image/png"
    assert image.headers["Content-Disposition"].startswith("inline")


def test_html_attachment_is_never_rendered_on_our_origin(mail_stack, web, person):
    subject = f"html attachment {uuid.uuid4().hex[:8]}"
    deliver_raw(mail_stack, person, _with_attachments(person, subject).as_bytes())
    uid = uid_of(mail_stack, person, subject)
    response = web.get(f"/mail/{uid}/part/4?folder=INBOX&inline=1")
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_zip_of_all_attachments(mail_stack, web, person):
    import io
    import zipfile

    subject = f"zip {uuid.uuid4().hex[:8]}"
    deliver_raw(mail_stack, person, _with_attachments(person, subject).as_bytes())
    uid = uid_of(mail_stack, person, subject)
    archive = zipfile.ZipFile(io.BytesIO(web.get(f"/mail/{uid}/attachments.zip?folder=INBOX").data))
    assert sorted(archive.namelist()) == ["Bericht März.bin", "dot.png", "page.html"]
    assert archive.read("dot.png") == PNG


def test_html_mail_is_sanitised_in_a_sandboxed_frame_with_remote_content_blocked(
        mail_stack, web, person):
    subject = f"newsletter {uuid.uuid4().hex[:8]}"
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "News <news@shop.test>", person, subject
    msg.set_content("plain")
    msg.add_alternative(
        '<html><head><title>SECRET TITLE</title><style>p{color:red}</style></head><body>'
        '<table width="600"><tr><td style="color:#123456">Deals</td></tr></table>'
        '<img src="https://cdn.shop.test/a.png" width="300"><img src="https://t.shop.test/p.gif" width="1" height="1">'
        '<a href="javascript:alert(1)">x</a><script>alert(2)</script></body></html>', subtype="html")
    deliver_raw(mail_stack, person, msg.as_bytes())
    uid = uid_of(mail_stack, person, subject)
    html = web.get(f"/mail/{uid}?folder=INBOX").get_data(as_text=True)
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in html
    assert "1 image" in html and "1 tracker" in html and "Show once" in html
    frame = web.get(f"/mail/{uid}/body?folder=INBOX")
    body = frame.get_data(as_text=True)
    assert "img-src 'self' data:" in frame.headers["Content-Security-Policy"]
    assert "https:" not in frame.headers["Content-Security-Policy"]
    assert "color:#123456" in body.replace(" ", "") and "Deals" in body
    for bad in ("SECRET TITLE", "<script", "javascript:", "cdn.shop.test", "color:red"):
        assert bad not in body
    remote = web.get(f"/mail/{uid}/body?folder=INBOX&remote=1")
    assert "cdn.shop.test" in remote.get_data(as_text=True)
    assert "https:" in remote.headers["Content-Security-Policy"]


def _newsletter(sender: str, to: str, subject: str, extra_headers=()) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    for name, value in extra_headers:
        msg[name] = value
    msg.add_alternative('<p>Look</p><img src="https://pics.test/cat.jpg">', subtype="html")
    return msg


def test_always_show_remote_content_for_a_signed_in_sender_is_remembered(
        mail_stack, stack_db, domain, web, person):
    friend = new_address(stack_db, domain, "friend")
    subject = f"trusted {uuid.uuid4().hex[:8]}"
    smtp.send(smtp.SmtpSettings.submission(mail_stack), _newsletter(friend, person, subject),
              login=(friend, PASSWORD))
    uid = uid_of(mail_stack, person, subject)
    page = web.get(f"/mail/{uid}?folder=INBOX").get_data(as_text=True)
    assert f"Always show from {friend}" in page
    web.post("/mail/trust", data={"sender": friend, "uid": uid, "folder": "INBOX",
                                  "csrf_token": csrf_token(page)})
    again = web.get(f"/mail/{uid}?folder=INBOX").get_data(as_text=True)
    assert "Show once" not in again and re.search(r'<iframe[^>]*src="[^"]*remote=1', again, re.S)


def test_a_trusted_senders_html_is_sanitised_once_for_the_page_and_its_frame(
        mail_stack, stack_db, domain, web, person, monkeypatch):
    friend = new_address(stack_db, domain, "friend")
    page = web.get("/settings/").get_data(as_text=True)
    web.post("/mail/trust", data={"sender": friend, "uid": 1, "folder": "INBOX",
                                  "csrf_token": csrf_token(page)})
    subject = f"trusted once {uuid.uuid4().hex[:8]}"
    smtp.send(smtp.SmtpSettings.submission(mail_stack), _newsletter(friend, person, subject),
              login=(friend, PASSWORD))
    uid = uid_of(mail_stack, person, subject)
    calls = []

    def counted(html, **options):
        calls.append(options)
        return clean(html, **options)

    monkeypatch.setattr(sanitize, "sanitize_html", counted)
    page = web.get(f"/mail/{uid}?folder=INBOX").get_data(as_text=True)
    assert re.search(r'<iframe[^>]*src="[^"]*remote=1', page, re.S)
    frame = web.get(f"/mail/{uid}/body?folder=INBOX&remote=1").get_data(as_text=True)
    assert "pics.test/cat.jpg" in frame
    assert [k["allow_remote"] for k in calls] == [True]  # the frame used the page's result


@pytest.mark.parametrize("forged_results", [
    (),
    # A client cannot vouch for itself: results it wrote are removed on the way in.
    (("Authentication-Results", "{host}; dmarc=pass header.from={domain}; "
      "dkim=pass header.d={domain}; auth=pass smtp.auth={friend} smtp.mailfrom={friend}"),),
], ids=["no results", "forged results"])
def test_a_forged_from_of_a_trusted_sender_keeps_remote_content_blocked(
        mail_stack, stack_db, domain, web, person, forged_results):
    # Issue 12 item 6: the sender choice was honoured for any message whose From matched.
    friend = new_address(stack_db, domain, "friend")
    values = {"host": mail_stack["MAIL_HOSTNAME"], "domain": domain, "friend": friend}
    headers = [(name, value.format(**values)) for name, value in forged_results]
    page = web.get("/settings/").get_data(as_text=True)
    uid = 1  # the trust form only needs a message to return to
    web.post("/mail/trust", data={"sender": friend, "uid": uid, "folder": "INBOX",
                                  "csrf_token": csrf_token(page)})
    subject = f"forged {uuid.uuid4().hex[:8]}"
    deliver_raw(mail_stack, person, _newsletter(f"Friend <{friend}>", person, subject,
                                                headers).as_bytes(), sender=friend)
    uid = uid_of(mail_stack, person, subject)
    page = web.get(f"/mail/{uid}?folder=INBOX").get_data(as_text=True)
    assert "Show once" in page and not re.search(r'<iframe[^>]*src="[^"]*remote=1', page, re.S)
    assert "could not be verified" in page


@pytest.mark.parametrize("form", [
    {"sender": "friend@pics.test"},
    {"sender": "friend@pics.test", "uid": "abc"},
    {"sender": "friend@pics.test", "uid": "0"},
    {"sender": "not an address", "uid": "1"},
], ids=["no uid", "uid not a number", "uid zero", "sender not an address"])
def test_trust_with_a_malformed_form_is_a_bad_request(web, form):
    # Issue 12: these answered 500 (and trusted the sender before failing).
    page = web.get("/settings/").get_data(as_text=True)
    response = web.post("/mail/trust", data={**form, "folder": "INBOX", "csrf_token": csrf_token(page)})
    assert response.status_code == 400
    assert "Bad request" in response.get_data(as_text=True)


SAMPLES = Path(__file__).parents[1] / "unit" / "mail_samples"


@pytest.mark.parametrize("sample,shown", [
    ("digest_list.eml", "We start at the old mill at eight."),
    ("unknown_text_subtype.eml", "Build 881 passed"),
])
def test_uncommon_text_mail_is_shown_not_called_damaged(mail_stack, web, person, sample, shown):
    subject = f"uncommon-{uuid.uuid4().hex[:8]}"
    raw = re.sub(rb"^Subject: [^\r]*", b"Subject: " + subject.encode(),
                 (SAMPLES / sample).read_bytes(), count=1, flags=re.M)
    deliver_raw(mail_stack, person, raw)
    page = web.get(f"/mail/{uid_of(mail_stack, person, subject)}?folder=INBOX").get_data(as_text=True)
    assert shown in page and "damaged" not in page


def test_enriched_mail_is_shown_formatted_in_the_frame(mail_stack, web, person):
    subject = f"enriched-{uuid.uuid4().hex[:8]}"
    raw = (SAMPLES / "enriched.eml").read_bytes().replace(b"Minutes of the meeting", subject.encode())
    deliver_raw(mail_stack, person, raw)
    uid = uid_of(mail_stack, person, subject)
    assert "damaged" not in web.get(f"/mail/{uid}?folder=INBOX").get_data(as_text=True)
    body = web.get(f"/mail/{uid}/body?folder=INBOX").get_data(as_text=True)
    assert "<b>Minutes</b>" in body and "<u>budget approved</u>" in body and "<script" not in body


@pytest.mark.parametrize("name,raw", [
    ("truncated multipart", b"Subject: {s}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhalf a mess"),
    ("missing boundary", b"Subject: {s}\r\nContent-Type: multipart/alternative\r\n\r\nno boundary at all\r\n"),
    ("bad base64", b"Subject: {s}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64***\r\n"),
    ("unknown charset", b"Subject: {s}\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nQapla\xe4\r\n"),
    ("8-bit headers", b"Subject: {s} \xe4\xf6\xfc \xc3\xa9\r\nFrom: J\xf6rg <joerg@outside.test>\r\n\r\nbody\r\n"),
    ("huge header line", b"Subject: {s}\r\nX-Long: " + b"a" * 200000 + b"\r\n\r\nbody\r\n"),
    ("bad encoded word", b"Subject: {s} =?utf-8?B?not-base64?= =?x-unknown?Q?abc?=\r\n\r\nbody\r\n"),
])
def test_malformed_messages_never_500(mail_stack, web, person, name, raw):
    subject = f"malformed-{uuid.uuid4().hex[:8]}"
    deliver_raw(mail_stack, person, raw.replace(b"{s}", subject.encode()))
    uid = uid_of(mail_stack, person, subject)
    assert web.get("/mail?folder=INBOX").status_code == 200
    page = web.get(f"/mail/{uid}?folder=INBOX")
    assert page.status_code == 200, name
    assert web.get(f"/mail/{uid}/body?folder=INBOX").status_code == 200
    assert web.get(f"/mail/{uid}/source?folder=INBOX").status_code == 200


def test_unknown_folder_and_uid_are_404_with_a_way_back(web):
    missing_folder = web.get("/mail?folder=No/Such/Folder")
    assert missing_folder.status_code == 404 and "Back to mail" in missing_folder.get_data(as_text=True)
    assert web.get("/mail/999999?folder=INBOX").status_code == 404


def _bulk(web, folder, uids, action, target=""):
    page = web.get(f"/mail?folder={folder}").get_data(as_text=True)
    return web.post("/mail/bulk", data={"folder": folder, "uid": [str(u) for u in uids],
                                        "action": action, "target": target,
                                        "csrf_token": csrf_token(page)})


def test_move_delete_to_trash_delete_for_good_and_empty(mail_stack, web, person):
    subjects = [f"bulk {n} {uuid.uuid4().hex[:6]}" for n in range(3)]
    for subject in subjects:
        submit(mail_stack, person, person, subject)
    uids = [uid_of(mail_stack, person, s) for s in subjects]
    _bulk(web, "INBOX", uids[:1], "move", "Archive")
    wait_for_subject(mail_stack, person, subjects[0], "Archive", timeout=5)
    _bulk(web, "INBOX", uids[1:], "delete")
    for subject in subjects[1:]:
        wait_for_subject(mail_stack, person, subject, "Trash", timeout=5)
    client = imap_login(mail_stack, person)
    client.select_folder("Trash")
    trash_uids = client.search(["SUBJECT", subjects[1]])
    client.logout()
    _bulk(web, "Trash", trash_uids, "delete")
    page = web.get("/mail?folder=Trash").get_data(as_text=True)
    assert subjects[1] not in page and subjects[2] in page
    web.post("/mail/empty", data={"folder": "Trash", "csrf_token": csrf_token(page)})
    client = imap_login(mail_stack, person)
    assert client.select_folder("Trash")[b"EXISTS"] == 0
    client.select_folder("INBOX")
    assert not client.search(["SUBJECT", subjects[0]])
    client.logout()


def test_empty_refuses_ordinary_folders(mail_stack, web, person):
    subject = f"keep {uuid.uuid4().hex[:6]}"
    submit(mail_stack, person, person, subject)
    wait_for_subject(mail_stack, person, subject)
    page = web.get("/mail").get_data(as_text=True)
    web.post("/mail/empty", data={"folder": "INBOX", "csrf_token": csrf_token(page)})
    wait_for_subject(mail_stack, person, subject, timeout=2)


def test_flags_and_read_state(mail_stack, web, person):
    subject = f"flags {uuid.uuid4().hex[:6]}"
    submit(mail_stack, person, person, subject)
    uid = uid_of(mail_stack, person, subject)
    _bulk(web, "INBOX", [uid], "flag")
    _bulk(web, "INBOX", [uid], "read")
    client = imap_login(mail_stack, person)
    client.select_folder("INBOX", readonly=True)
    assert {b"\\Flagged", b"\\Seen"} <= set(client.get_flags([uid])[uid])
    client.logout()
    _bulk(web, "INBOX", [uid], "unread")
    assert 'class="row unread flagged' in web.get("/mail").get_data(as_text=True)


def test_a_flag_set_by_another_client_shows_through_the_row_cache(mail_stack, web, person):
    subject = f"row cache {uuid.uuid4().hex[:6]}"
    submit(mail_stack, person, person, subject)
    uid = uid_of(mail_stack, person, subject)
    row = re.compile(rf'<li class="row ([^"]*)"[^>]*data-uid="{uid}"')
    assert row.search(web.get("/mail").get_data(as_text=True)).group(1).split() == ["unread"]
    client = imap_login(mail_stack, person)
    uidvalidity = client.select_folder("INBOX")[b"UIDVALIDITY"]
    assert listing.row_cache.get((person, "INBOX", uidvalidity, uid))[0].subject == subject
    client.add_flags([uid], [b"\\Seen", b"\\Flagged"])
    client.logout()
    html = web.get("/mail").get_data(as_text=True)  # from the cached row, with fresh FLAGS
    assert subject in html
    assert row.search(html).group(1).split() == ["flagged"]


def test_search_operators(mail_stack, web, person):
    tag = uuid.uuid4().hex[:6]
    plain = EmailMessage()
    plain["From"], plain["To"], plain["Subject"] = f"Quinn <quinn-{tag}@outside.test>", person, f"budget {tag}"
    plain["Date"] = "Mon, 02 Mar 2026 10:00:00 +0000"
    plain.set_content(f"the zebra-{tag} paragraph")
    deliver_raw(mail_stack, person, plain.as_bytes())
    attached = _with_attachments(person, f"report {tag}")
    deliver_raw(mail_stack, person, attached.as_bytes())
    uid_of(mail_stack, person, f"budget {tag}")
    uid_of(mail_stack, person, f"report {tag}")

    def found(query, scope=""):
        html = web.get("/mail", query_string={"folder": "INBOX", "q": query, "scope": scope}).get_data(as_text=True)
        return {s for s in (f"budget {tag}", f"report {tag}") if s in html}

    assert found(f"from:quinn-{tag}") == {f"budget {tag}"}
    assert found(f"subject:report subject:{tag}") == {f"report {tag}"}
    assert found(f"body:zebra-{tag}") == {f"budget {tag}"}
    assert found(f"has:attachment {tag}") == {f"report {tag}"}
    assert found(f"is:unread {tag}") == {f"budget {tag}", f"report {tag}"}
    assert found(f"is:flagged {tag}") == set()
    assert found(f"before:2026-03-03 {tag}") == {f"budget {tag}"}
    assert found(f"after:2026-03-02 {tag}") == {f"report {tag}"}
    assert found(f"to:{person} zebra-{tag}") == {f"budget {tag}"}
    assert found(f'"zebra-{tag} paragraph"') == {f"budget {tag}"}
    assert found(f"subject:{tag}", scope="all") == {f"budget {tag}", f"report {tag}"}
    assert "needs a date" in web.get("/mail", query_string={"q": "before:someday"}).get_data(as_text=True)


def test_injection_through_search_and_folder_names_is_refused(mail_stack, web, person):
    subject = f"survivor {uuid.uuid4().hex[:6]}"
    submit(mail_stack, person, person, subject)
    wait_for_subject(mail_stack, person, subject)
    for query in ('subject:"x" OR ALL) (DELETED', "{5}", "x\r\nA1 DELETE INBOX", "%*]"):
        assert web.get("/mail", query_string={"q": query}).status_code == 200
    response = web.get("/mail", query_string={"folder": "INBOX\r\nA1 DELETE INBOX"})
    assert response.status_code == 404
    page = web.get("/mail").get_data(as_text=True)
    web.post("/folders", data={"action": "create", "name": "x\r\nA1 DELETE INBOX",
                               "csrf_token": csrf_token(page)})
    wait_for_subject(mail_stack, person, subject, timeout=2)  # INBOX and its mail are still there
    client = imap_login(mail_stack, person)
    assert not any("DELETE" in name for _, _, name in client.list_folders())
    client.logout()


def test_polling_reports_new_mail_and_unread_counts(mail_stack, web, person):
    page = web.get("/mail").get_data(as_text=True)
    import re
    uidnext = int(re.search(r'data-uidnext="(\d+)"', page).group(1))
    subject = f"fresh {uuid.uuid4().hex[:6]}"
    submit(mail_stack, person, person, subject)
    wait_for_subject(mail_stack, person, subject)
    data = web.get(f"/mail/changes?folder=INBOX&uidnext={uidnext}").get_json()
    assert data["new"] == 1 and subject in data["rows"]
    assert data["uidnext"] > uidnext and data["unseen"]["INBOX"] >= 1
    assert web.get(f"/mail/changes?folder=INBOX&uidnext={data['uidnext']}").get_json()["new"] == 0


def test_the_folder_tree_is_kept_until_the_shown_folder_polling_or_a_change_here_moves_it(
        mail_stack, web, person):
    assert 'data-count="unseen">0<' in web.get("/mail").get_data(as_text=True)
    subject = f"counted {uuid.uuid4().hex[:6]}"
    submit(mail_stack, person, person, subject)
    wait_for_subject(mail_stack, person, subject)
    assert 'data-count="unseen">1<' in web.get("/mail").get_data(as_text=True)  # INBOX moved
    client = imap_login(mail_stack, person)  # another program files mail into a new folder
    client.create_folder("Filed")
    client.subscribe_folder("Filed")
    client.append("Filed", b"From: a@outside.test\r\nSubject: filed\r\n\r\nbody\r\n")
    client.logout()
    assert 'data-folder="Filed"' not in web.get("/mail").get_data(as_text=True)  # kept tree
    assert web.get("/mail/changes?folder=INBOX").get_json()["unseen"]["Filed"] == 1
    assert 'data-unseen="Filed" aria-label="1 unread"' in web.get("/mail").get_data(as_text=True)
    page = web.get("/folders").get_data(as_text=True)
    web.post("/folders", data={"action": "create", "name": "Made here", "csrf_token": csrf_token(page)})
    assert 'data-folder="Made here"' in web.get("/mail").get_data(as_text=True)


def test_folders_create_rename_delete(mail_stack, web, person):
    page = web.get("/folders").get_data(as_text=True)
    token = csrf_token(page)
    web.post("/folders", data={"action": "create", "name": "Projects", "csrf_token": token})
    web.post("/folders", data={"action": "create", "name": "Web", "parent": "Projects", "csrf_token": token})
    web.post("/folders", data={"action": "rename", "name": "Projects/Web", "new_name": "Projects/Site",
                               "csrf_token": token})
    client = imap_login(mail_stack, person)
    names = {name for _, _, name in client.list_folders()}
    assert {"Projects", "Projects/Site"} <= names and "Projects/Web" not in names
    client.logout()
    refused = web.post("/folders", data={"action": "delete", "name": "INBOX", "csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "cannot be changed" in refused
    web.post("/folders", data={"action": "delete", "name": "Projects/Site", "csrf_token": token})
    client = imap_login(mail_stack, person)
    assert "Projects/Site" not in {name for _, _, name in client.list_folders()}
    client.logout()


def test_mail_page_says_which_daemon_is_down(app, mail_stack, person):
    """Signed in, then Dovecot 'goes away': the next page is a 503 naming IMAP, no trace."""
    from app import create_app
    from tests.conftest import free_ports

    web = signed_in_client(app, person)
    broken = create_app({**mail_stack, "ENV": "testing", "IMAP_PORT": free_ports(1)[0]})
    with web.session_transaction() as cookie:
        saved = dict(cookie)
    other = broken.test_client()
    with other.session_transaction() as cookie:
        cookie.update(saved)
    from core.extensions import imap_pool

    imap_pool.discard(person)  # the pooled connection would still answer
    response = other.get("/mail")
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and "IMAP server (Dovecot)" in html and "Try again" in html
