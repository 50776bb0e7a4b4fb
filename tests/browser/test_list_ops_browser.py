"""People acting on whole lists in Chromium: mark all read, select all N with Undo, print,
.eml download and import (issue 15 items 3, 4, 6, 8)."""
import uuid
from email.message import EmailMessage

import pytest

from tests.helpers import imap_login, new_address, png, sign_in
from tests.integration.test_list_ops import fill as append_subjects

pytestmark = pytest.mark.browser


def fill(cfg, address, count, prefix="many"):
    """COUNT unread messages APPENDed to the Inbox; their subjects."""
    subjects = [f"{prefix} {n} {uuid.uuid4().hex[:6]}" for n in range(count)]
    append_subjects(cfg, address, subjects)
    return subjects


def status(cfg, address, folder, item=b"MESSAGES"):
    client = imap_login(cfg, address)
    try:
        return client.folder_status(folder, [item])[item]
    finally:
        client.logout()


def test_mark_all_as_read_asks_with_the_count(page, live_url, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "readall")
    fill(mail_stack, address, 101)
    sign_in(page, live_url, address)
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Mark all as read").click()
    page.get_by_text("Every message in INBOX is marked as read.").wait_for()
    assert asked == ["Mark all 101 unread messages in Inbox as read?"]
    assert status(mail_stack, address, "INBOX", b"UNSEEN") == 0


def test_select_all_across_pages_delete_and_undo(page, live_url, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "selectall")
    fill(mail_stack, address, 55)
    sign_in(page, live_url, address)
    page.get_by_label("Select all on this page").check()
    page.get_by_role("button", name="Select all 55 messages in Inbox").click()
    page.get_by_text("All 55 messages are selected.").wait_for()
    page.get_by_role("toolbar", name="Selected messages").get_by_role("button", name="Delete").click()
    page.get_by_text("55 messages moved to Trash.").first.wait_for()
    assert status(mail_stack, address, "INBOX") == 0 and status(mail_stack, address, "Trash") == 55
    page.get_by_role("button", name="Undo").click()
    page.get_by_text("Undone: 55 messages back in INBOX.").wait_for()
    assert status(mail_stack, address, "INBOX") == 55 and status(mail_stack, address, "Trash") == 0


def test_undo_goes_after_a_few_seconds(page, live_url, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "undogone")
    subject = fill(mail_stack, address, 1)[0]
    page.clock.install()
    sign_in(page, live_url, address)
    page.get_by_role("link", name=subject).click()
    # The page's clock stands still from here: the bar's seconds pass only when told to,
    # however slowly the machine loads the page that shows it.
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)
    page.get_by_role("toolbar", name="Message actions").get_by_role("button", name="Spam").click()
    undo = page.get_by_role("button", name="Undo")
    undo.wait_for()
    page.wait_for_load_state("load")  # the bar shows before the script has set its timer
    page.clock.run_for(9000)
    assert undo.is_visible()
    page.clock.run_for(1500)
    undo.wait_for(state="detached")
    assert status(mail_stack, address, "Junk") == 1


def test_print_opens_the_print_view_and_dialog(page, live_url, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "printer", spam_to_junk=False)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Ben <ben@outside.test>", address, "Minutes to print"
    msg.set_content("plain")
    msg.add_alternative('<p style="color:#123456">Agreed items</p>', subtype="html")
    msg.add_attachment(png(4, 4), maintype="image", subtype="png", filename="chart.png")
    client = imap_login(mail_stack, address)
    client.append("INBOX", msg.as_bytes())
    client.logout()
    # Headless Chromium has no print dialog to show: count the calls instead.
    page.context.add_init_script("window.print = () => { document.documentElement.dataset.printed = "
                                 "String(Number(document.documentElement.dataset.printed || 0) + 1); };")
    sign_in(page, live_url, address)
    page.get_by_role("link", name="Minutes to print").click()
    with page.expect_popup() as opened:
        page.get_by_role("link", name="Print", exact=True).click()
    printed = opened.value
    printed.get_by_role("heading", name="Minutes to print").wait_for()
    printed.wait_for_function("() => document.documentElement.dataset.printed === '1'")
    assert printed.get_by_text("Agreed items").is_visible()
    assert printed.get_by_role("region", name="Attachments").get_by_text("chart.png").is_visible()
    printed.emulate_media(media="print")
    assert not printed.get_by_role("button", name="Print").is_visible()


def test_download_as_eml_and_import_by_button_and_drop(page, live_url, mail_stack, stack_db, domain, tmp_path):
    address = new_address(stack_db, domain, "files", spam_to_junk=False)
    subject = fill(mail_stack, address, 1, "saved")[0]
    sign_in(page, live_url, address)
    page.get_by_role("link", name=subject).click()
    with page.expect_download() as saved:
        page.get_by_role("link", name="Download as .eml").click()
    path = tmp_path / "saved.eml"
    saved.value.save_as(path)
    assert saved.value.suggested_filename == f"{subject}.eml"
    assert f"Subject: {subject}" in path.read_text()
    old = tmp_path / "old.eml"
    old.write_bytes(path.read_bytes().replace(subject.encode(), b"imported by button"))
    photo = tmp_path / "photo.png"
    photo.write_bytes(png(8, 8))
    page.get_by_label("Import .eml files into Inbox").set_input_files([str(old), str(photo)])
    page.get_by_text("“old.eml” imported into INBOX").wait_for()
    page.get_by_text("“photo.png” is not an e-mail message (it is image/png)").wait_for()
    # the reloaded page shows its text before its script has put the drop handler on the list
    page.wait_for_function("() => document.getElementById('import-form').classList.contains('auto')")
    dropped = path.read_text().replace(subject, "imported by drop")
    page.evaluate("""(text) => {
        const files = new DataTransfer();
        files.items.add(new File([text], "dropped.eml", { type: "message/rfc822" }));
        const list = document.getElementById("message-list");
        list.dispatchEvent(new DragEvent("dragover", { dataTransfer: files, bubbles: true, cancelable: true }));
        list.dispatchEvent(new DragEvent("drop", { dataTransfer: files, bubbles: true, cancelable: true }));
    }""", dropped)
    page.get_by_text("“dropped.eml” imported into INBOX").wait_for()
    page.get_by_role("link", name="imported by drop").wait_for()
    assert status(mail_stack, address, "INBOX") == 3
