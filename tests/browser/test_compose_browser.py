"""A person writes a message in Chromium: labels, keyboard, suggestions, attachments, drafts, send."""
import email
import uuid
from email import policy

import pytest

from tests.helpers import folder_uids, imap_login, new_address, sign_in, wait_for_subject

pytestmark = pytest.mark.browser
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64


def count(cfg, address, folder):
    return len(folder_uids(cfg, address, folder))


def test_compose_attach_save_and_send_with_keyboard_and_labels(page, live_url, mail_stack,
                                                               stack_db, domain):
    sender = new_address(stack_db, domain, "bwriter")
    rcpt = new_address(stack_db, domain, "breader")
    sign_in(page, live_url, sender)
    page.get_by_role("navigation", name="Folders").get_by_role("link", name="Compose").click()
    page.get_by_role("heading", name="New message").wait_for()

    # The To field has the focus; typing part of a local address offers it.
    to = page.get_by_label("To", exact=True)
    # Chromium applies `autofocus` at a rendering update after the page is parsed.
    page.wait_for_function("() => document.activeElement.id === 'c-to'")
    page.keyboard.type(rcpt.split("@")[0][:12])
    page.get_by_role("option", name=rcpt).wait_for()
    page.keyboard.press("Enter")
    assert to.input_value() == f"{rcpt}, "
    page.keyboard.press("Enter")  # Enter in a one-line field moves on, it never sends
    subject = f"browser compose {uuid.uuid4().hex}"
    page.get_by_label("Subject").focus()
    page.keyboard.type(subject)
    page.get_by_label("Message", exact=True).focus()
    page.keyboard.type("Hello from Chromium.\nTwo files attached.")

    page.get_by_label("Attach files").set_input_files(
        files=[{"name": "chart.png", "mimeType": "image/png", "buffer": PNG}])
    page.get_by_role("button", name="Remove chart.png").wait_for()
    attached = page.get_by_role("list", name="Attached files")
    assert "Attached" in attached.inner_text()
    dropped = page.evaluate_handle(
        "() => { const dt = new DataTransfer();"
        " dt.items.add(new File(['dropped text'], 'dropped.txt', {type: 'text/plain'}));"
        " return dt; }")
    page.dispatch_event("#compose", "drop", {"dataTransfer": dropped})
    page.get_by_role("button", name="Remove dropped.txt").wait_for()
    assert page.get_by_title("Has attachments").is_visible()

    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("status").filter(has_text="Draft saved").wait_for()
    assert count(mail_stack, sender, "Drafts") == 1

    page.get_by_role("button", name="Send").click()
    page.get_by_text("Message sent to").wait_for()
    arrived = email.message_from_bytes(wait_for_subject(mail_stack, rcpt, subject),
                                       policy=policy.default)
    files = {p.get_filename(): p.get_payload(decode=True) for p in arrived.iter_attachments()}
    assert files == {"chart.png": PNG, "dropped.txt": b"dropped text"}
    assert "Hello from Chromium." in arrived.get_body(("plain",)).get_content()
    page.wait_for_timeout(500)  # time for a page-hide beacon to land, if one were sent
    assert count(mail_stack, sender, "Drafts") == 0
    assert count(mail_stack, sender, "Sent") == 1


def test_leaving_the_page_keeps_a_draft_that_reopens(page, live_url, mail_stack, stack_db,
                                                    domain):
    sender = new_address(stack_db, domain, "bleave")
    sign_in(page, live_url, sender)
    page.goto(live_url + "/compose")
    page.get_by_label("To", exact=True).fill("someone@example.test")
    page.get_by_label("Subject").fill("Half written")
    page.get_by_label("Message", exact=True).fill("Do not lose me.")
    page.goto(live_url + "/")  # pagehide sends the draft with navigator.sendBeacon
    for _ in range(50):
        if count(mail_stack, sender, "Drafts") == 1:
            break
        page.wait_for_timeout(200)
    client = imap_login(mail_stack, sender)
    try:
        client.select_folder("Drafts", readonly=True)
        uid = client.search(["ALL"])[0]
    finally:
        client.logout()
    page.goto(f"{live_url}/compose?draft={uid}")
    assert page.get_by_label("Subject").input_value() == "Half written"
    assert page.get_by_label("Message", exact=True).input_value() == "Do not lose me.\n"
    assert page.get_by_label("To", exact=True).input_value() == "someone@example.test"


def test_too_large_file_is_refused_in_the_list(page, live_url, mail_stack, stack_db, domain,
                                                tmp_path):
    sender = new_address(stack_db, domain, "bbig")
    sign_in(page, live_url, sender)
    page.goto(live_url + "/compose")
    # A file on disk, not a buffer: Chromium reads it itself instead of receiving 20 MB
    # through Playwright's protocol (which timed out on a busy machine).
    huge = tmp_path / "huge.iso"
    with open(huge, "wb") as handle:
        handle.truncate(20 * 1024 * 1024)
    page.get_by_label("Attach files").set_input_files(huge)
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "25 MB" in alert.inner_text()
    assert page.get_by_role("button", name="Remove huge.iso").is_visible()


def test_phone_width_keeps_fields_stacked_and_send_reachable(page, live_url, mail_stack,
                                                             stack_db, domain):
    sender = new_address(stack_db, domain, "bphone")
    page.set_viewport_size({"width": 375, "height": 700})
    sign_in(page, live_url, sender)
    page.goto(live_url + "/compose")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"compose is {width}px wide on a 375px screen"
    to_box = page.get_by_label("To", exact=True).bounding_box()
    subject_box = page.get_by_label("Subject").bounding_box()
    assert subject_box["y"] > to_box["y"] and to_box["width"] > 300  # stacked, full width
    for name in ("Send", "Save draft"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= 700, f"{name} is off screen"


def test_uploads_read_in_the_persons_language_on_a_phone(page, live_url, mail_stack, stack_db,
                                                         domain):
    """What the script writes while a file goes up (its state, size and Remove button) is in
    the page's language, sizes with its decimal comma, and fits a phone screen."""
    sender = new_address(stack_db, domain, "bitalia")
    sign_in(page, live_url, sender)
    page.set_extra_http_headers({"Accept-Language": "it"})
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(live_url + "/compose")
    page.wait_for_load_state()
    page.get_by_label("Allega file").set_input_files(
        files=[{"name": "piano.bin", "mimeType": "application/octet-stream",
                "buffer": bytes(1024 * 1024 * 3 // 2)}])
    page.get_by_role("button", name="Rimuovi piano.bin").wait_for()
    item = page.get_by_role("list", name="File allegati").get_by_role("listitem")
    assert item.inner_text().split() == ["piano.bin", "1,5", "MB", "Allegato", "Rimuovi"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
