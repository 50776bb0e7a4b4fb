"""Acting on whole lists against the real stack: mark all read, select all N, Undo,
.eml download, zip and import, print (issue 15 items 3, 4, 6, 8)."""
from __future__ import annotations

import io
import logging
import random
import re
import uuid
import zipfile
from contextlib import contextmanager
from datetime import datetime, timezone
from email.message import EmailMessage

import pytest

from tests.helpers import csrf_token, imap_login, new_address, png, signed_in_client

from .spam_support import SPAM_WORDS, counts, generated, outcomes, wait_until


@pytest.fixture
def person(stack_db, domain):
    return new_address(stack_db, domain, "lists", spam_to_junk=False)


@pytest.fixture
def web(app, person):
    return signed_in_client(app, person)


def fill(cfg, address: str, subjects: list[str], folder: str = "INBOX") -> None:
    """APPEND one unread message per subject to FOLDER (faster than delivering them)."""
    client = imap_login(cfg, address)
    try:
        for subject in subjects:
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = "Ben <ben@outside.test>", address, subject
            msg.set_content(f"About {subject}.")
            client.append(folder, msg.as_bytes())
    finally:
        client.logout()


def subjects_in(cfg, address: str, folder: str) -> list[str]:
    client = imap_login(cfg, address)
    try:
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        found = client.fetch(uids, ["ENVELOPE"]) if uids else {}
        return sorted(e[b"ENVELOPE"].subject.decode() for e in found.values())
    finally:
        client.logout()


def unseen(cfg, address: str, folder: str = "INBOX") -> int:
    client = imap_login(cfg, address)
    try:
        return client.folder_status(folder, [b"UNSEEN"])[b"UNSEEN"]
    finally:
        client.logout()


class Commands(logging.Handler):
    """Every IMAP command the app sends, from imapclient's own protocol log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sent: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text.startswith("> "):
            self.sent.append(text)

    def named(self, word: str) -> list[str]:
        return [c for c in self.sent if f" {word} " in c]


@contextmanager
def imap_commands():
    logger = logging.getLogger("imapclient.imaplib")
    spy, level = Commands(), logger.level
    logger.addHandler(spy)
    logger.setLevel(logging.DEBUG)
    try:
        yield spy
    finally:
        logger.removeHandler(spy)
        logger.setLevel(level)


def list_form(web, folder: str = "INBOX", query: str = "") -> dict:
    """The hidden fields of the list's forms as the page drew them."""
    html = web.get("/mail", query_string={"folder": folder, "q": query}).get_data(as_text=True)
    value = lambda name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1)  # noqa: E731
    return {"folder": folder, "upto": value("upto"), "uidvalidity": value("uidvalidity"),
            "total": value("total"), "csrf_token": csrf_token(html), "html": html}


def post_all(web, form: dict, action: str, **extra):
    data = {k: v for k, v in form.items() if k != "html"}
    return web.post("/mail/bulk", data={**data, "scope": "all", "action": action, **extra})


def test_mark_all_read_is_one_store_and_leaves_later_mail_alone(mail_stack, web, person):
    fill(mail_stack, person, [f"unread {n}" for n in range(150)])
    form = list_form(web)
    assert "Mark all 150 unread messages in Inbox as read?" in form["html"]
    fill(mail_stack, person, ["arrived after the page was drawn"])
    with imap_commands() as spy:
        response = web.post("/mail/read-all", data={k: v for k, v in form.items() if k != "html"})
    assert response.status_code == 302
    assert unseen(mail_stack, person) == 1, "the late message stays unread"
    assert len(spy.named("STORE")) == 1 and len(spy.sent) <= 6, spy.sent
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Every message in INBOX is marked as read." in page


def test_select_all_of_a_search_moves_its_messages_by_uid_ranges(mail_stack, web, person):
    tag = uuid.uuid4().hex[:6]
    fill(mail_stack, person, [f"{'keep' if n % 2 else 'move'}{tag} {n}" for n in range(120)])
    web.post("/folders", data={"action": "create", "name": "Kept",
                               "csrf_token": list_form(web)["csrf_token"]})
    form = list_form(web, query=f"subject:move{tag}")
    assert form["total"] == "60"
    with imap_commands() as spy:
        post_all(web, {**form, "q": f"subject:move{tag}"}, "move", target="Kept")
    assert len(spy.named("MOVE")) == 1, spy.sent
    assert len(subjects_in(mail_stack, person, "Kept")) == 60
    assert all(s.startswith(f"keep{tag}") for s in subjects_in(mail_stack, person, "INBOX"))


def test_select_all_junk_trains_every_message_as_the_junk_button_does(
        mail_stack, stack_db, domain, app):
    address = new_address(stack_db, domain, "junkall", spam_to_junk=False)
    client = imap_login(mail_stack, address)
    rng = random.Random(1515)
    for _ in range(4):
        client.append("INBOX", generated(SPAM_WORDS, address, rng))
    client.logout()
    web = signed_in_client(app, address)
    with imap_commands() as spy:
        answer = post_all(web, list_form(web), "spam")
    assert len(spy.named("MOVE")) == 1
    page = web.get(answer.headers["Location"]).get_data(as_text=True)
    assert "4 messages moved to Junk. The move is queued to teach the spam filter" in page
    wait_until(lambda: len(outcomes(mail_stack, address)) == 4, "four spam learn outcomes")
    assert len(subjects_in(mail_stack, address, "Junk")) == 4


def _undo_form(html: str) -> dict:
    found = re.search(r'id="undo-form".*?name="csrf_token" value="([^"]+)".*?name="undo" value="([^"]+)"',
                      html, re.S)
    assert found, "the page offers Undo"
    return {"csrf_token": found.group(1), "undo": found.group(2)}


def test_undo_puts_deleted_messages_back_in_their_folder(mail_stack, web, person):
    fill(mail_stack, person, ["first to go", "second to go", "stays"])
    client = imap_login(mail_stack, person)
    client.select_folder("INBOX", readonly=True)
    chosen = client.search(["SUBJECT", "to go"])
    client.logout()
    form = list_form(web)
    answer = web.post("/mail/bulk", data={"folder": "INBOX", "action": "delete", "uid": chosen,
                                          "csrf_token": form["csrf_token"]})
    page = web.get(answer.headers["Location"]).get_data(as_text=True)
    assert subjects_in(mail_stack, person, "Trash") == ["first to go", "second to go"]
    assert "2 messages moved to Trash." in page
    undone = web.post("/mail/undo", data={**_undo_form(page), "back": "/mail?folder=INBOX"})
    assert "Undone: 2 messages back in INBOX." in web.get(undone.headers["Location"]).get_data(as_text=True)
    assert subjects_in(mail_stack, person, "INBOX") == ["first to go", "second to go", "stays"]
    assert subjects_in(mail_stack, person, "Trash") == []
    again = web.post("/mail/undo", data={**_undo_form(page), "back": "/mail"})
    assert "That can no longer be undone." in web.get(again.headers["Location"]).get_data(as_text=True)


def test_undo_of_junk_moves_back_and_teaches_ham(mail_stack, stack_db, domain, app):
    address = new_address(stack_db, domain, "undojunk", spam_to_junk=False)
    client = imap_login(mail_stack, address)
    client.append("INBOX", generated(SPAM_WORDS, address, random.Random(815)))
    client.logout()
    web = signed_in_client(app, address)
    before = counts(mail_stack)
    page = web.get(post_all(web, list_form(web), "spam").headers["Location"]).get_data(as_text=True)
    wait_until(lambda: counts(mail_stack)[0] == before[0] + 1, "the spam learned")
    undone = web.post("/mail/undo", data={**_undo_form(page), "back": "/mail"})
    said = web.get(undone.headers["Location"]).get_data(as_text=True)
    assert "Undone: 1 message back in INBOX. The move is queued to teach the spam filter what ham" in said
    assert len(subjects_in(mail_stack, address, "INBOX")) == 1
    # Rspamd's learn cache knows the message as spam: learning it as ham relearns it,
    # so the spam count goes back down and ham goes up.
    wait_until(lambda: counts(mail_stack) == (before[0], before[1] + 1), "spam unlearned, ham learned")


def test_download_as_eml_is_the_stored_message(mail_stack, web, person):
    fill(mail_stack, person, ["Budget 2027 / draft"])
    client = imap_login(mail_stack, person)
    client.select_folder("INBOX", readonly=True)
    uid = client.search(["ALL"])[0]
    stored = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
    client.logout()
    response = web.get(f"/mail/{uid}/eml?folder=INBOX")
    assert response.data == stored
    assert response.headers["Content-Type"] == "message/rfc822"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="Budget 2027 _ draft.eml"')
    assert unseen(mail_stack, person) == 1, "saving a message does not read it"


def test_zip_of_a_selection_holds_each_message_as_eml(mail_stack, web, person):
    fill(mail_stack, person, ["one", "two", "two"])
    form = list_form(web)
    answer = web.post("/mail/export.zip", data={**{k: v for k, v in form.items() if k != "html"},
                                                "scope": "all"})
    assert answer.headers["Content-Type"] == "application/zip"
    assert answer.is_streamed
    archive = zipfile.ZipFile(io.BytesIO(answer.get_data()))
    names = sorted(n.split(" ", 1)[1] for n in archive.namelist())
    assert names == ["one.eml", "two (2).eml", "two.eml"]
    assert all(archive.read(n).startswith(b"From: Ben") for n in archive.namelist())


def _eml(subject: str, date: str, extra: str = "") -> bytes:
    return (f"Return-Path: <old@archive.test>\r\nFrom: Old Friend <old@archive.test>\r\n"
            f"To: me@example.test\r\nSubject: {subject}\r\nDate: {date}\r\n{extra}"
            f"Message-ID: <{uuid.uuid4().hex}@archive.test>\r\n\r\nFrom the archive.\r\n").encode()


def test_import_appends_with_the_original_date_and_flags(mail_stack, web, person):
    form = list_form(web)
    files = [(io.BytesIO(_eml("kept flagged", "Tue, 5 Mar 2019 09:12:00 +0100",
                              "X-Mozilla-Status: 0005\r\n")), "flagged.eml"),
             (io.BytesIO(b"From MAILER-DAEMON Tue Mar  5 09:12:00 2019\n"
                         + _eml("plain old", "Wed, 6 Mar 2019 10:00:00 +0000")), "plain.eml"),
             (io.BytesIO(png(8, 8)), "holiday.png")]
    answer = web.post("/mail/import", data={"folder": "INBOX", "csrf_token": form["csrf_token"],
                                            "message": files},
                      content_type="multipart/form-data", headers={"Accept": "application/json"})
    results = answer.get_json()["results"]
    assert [r["ok"] for r in results] == [True, True, False]
    assert "“holiday.png” is not an e-mail message (it is image/png)" in results[2]["text"]
    client = imap_login(mail_stack, person)
    client.select_folder("INBOX", readonly=True)
    found = client.fetch(client.search(["ALL"]), ["INTERNALDATE", "FLAGS", "ENVELOPE"])
    client.logout()
    by_subject = {v[b"ENVELOPE"].subject.decode(): v for v in found.values()}
    assert set(by_subject) == {"kept flagged", "plain old"}
    flagged = by_subject["kept flagged"]
    assert flagged[b"INTERNALDATE"].astimezone(timezone.utc) == datetime(2019, 3, 5, 8, 12, tzinfo=timezone.utc)
    assert set(flagged[b"FLAGS"]) == {b"\\Seen", b"\\Flagged"}
    assert by_subject["plain old"][b"FLAGS"] == (b"\\Seen",)
    assert by_subject["plain old"][b"INTERNALDATE"].astimezone(timezone.utc).year == 2019


def test_print_view_is_sandboxed_and_lists_headers_and_attachments(mail_stack, web, person):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Ben <ben@outside.test>", person, "Minutes to print"
    msg["Cc"] = "Carla <carla@outside.test>"
    msg.set_content("plain")
    msg.add_alternative('<p style="color:#123456">Agreed items</p><img src="https://cdn.test/x.png">',
                        subtype="html")
    msg.add_attachment(png(4, 4), maintype="image", subtype="png", filename="chart.png")
    client = imap_login(mail_stack, person)
    client.append("INBOX", msg.as_bytes())
    client.select_folder("INBOX", readonly=True)
    uid = client.search(["ALL"])[0]
    client.logout()
    response = web.get(f"/mail/{uid}/print?folder=INBOX")
    html, csp = response.get_data(as_text=True), response.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox allow-scripts allow-modals") and "script-src 'nonce-" in csp
    assert "https:" not in csp and "cdn.test" not in html
    for shown in ("Minutes to print", "Ben &lt;ben@outside.test&gt;", "Carla", "chart.png", "Agreed items"):
        assert shown in html
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'<script nonce="{nonce}" src="/static/js/print.js"' in html
    assert "cdn.test" in web.get(f"/mail/{uid}/print?folder=INBOX&remote=1").get_data(as_text=True)
