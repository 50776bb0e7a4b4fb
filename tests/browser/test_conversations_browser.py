"""People switching the list to conversations in Chromium, at phone and desktop widths."""
import uuid

import pytest

from tests.helpers import folder_uids, imap_login, new_address, sign_in
from tests.integration.conversation_support import raw, seed

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [375, 1280])
def test_switch_open_expand_and_delete_a_conversation(page, live_url, mail_stack, stack_db, domain, width):
    page.set_viewport_size({"width": width, "height": 800})
    address = new_address(stack_db, domain, "convo", spam_to_junk=False)
    tag = uuid.uuid4().hex[:6]
    uids = seed(mail_stack, address, tag)
    sign_in(page, live_url, address)
    page.get_by_role("button", name="Conversations").click()
    page.get_by_text("The list now shows conversations.").wait_for()
    assert page.get_by_role("button", name="Conversations").get_attribute("aria-pressed") == "true"
    rows = page.locator("#message-list .row")
    assert rows.count() == 3
    plan = rows.filter(has_text=f"Plan {tag}")
    assert "Anna, me, Ben" in plan.inner_text() and plan.get_by_label("3 messages").is_visible()

    # The keyboard walks conversations as it walks messages: the third row is the plan.
    for _ in range(3):
        page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url(f"**/mail/conversation/{uids['plan3'][1]}?**")
    view = page.get_by_role("article", name=f"Plan {tag}")
    messages = view.get_by_role("list", name="Messages in this conversation").get_by_role("listitem")
    assert messages.count() == 3
    oldest, newest = messages.first.locator("details"), messages.last.locator("details")
    assert newest.get_attribute("open") is not None and oldest.get_attribute("open") is None
    assert not oldest.get_by_title("Message from Anna").is_visible()
    newest.frame_locator("iframe").get_by_text("a few words from Ben").wait_for()
    oldest.locator("summary").click()  # older messages open on demand
    oldest.frame_locator("iframe").get_by_text("a few words from Anna").wait_for()
    oldest.locator("summary").focus()
    page.keyboard.press("Enter")  # and close again from the keyboard
    assert oldest.get_attribute("open") is None
    reply = page.get_by_role("group", name="Reply to the conversation").get_by_role("link", name="Reply", exact=True)
    assert reply.is_visible()

    page.get_by_role("toolbar", name="Conversation actions").get_by_role("button", name="Delete").click()
    page.get_by_role("status").get_by_text("2 messages moved to Trash.").wait_for()
    inbox = folder_uids(mail_stack, address, "INBOX")
    assert uids["plan1"][1] not in inbox and uids["plan3"][1] not in inbox and len(inbox) == 2
    assert uids["plan2"][1] in folder_uids(mail_stack, address, "Sent")  # my answer stays in Sent
    assert page.locator("#message-list .row").count() == 2

    # New mail while the list is open: an answer grows Dora's row, a new message adds one.
    client = imap_login(mail_stack, address)
    client.append("INBOX", raw("Eve <eve@conv.test>", address, f"Re: Alone {tag}", f"<eve.{tag}@conv.test>",
                               6, f"<alone.{tag}@conv.test>"))
    client.append("INBOX", raw("Fay <fay@conv.test>", address, f"Hello {tag}", f"<fay.{tag}@conv.test>", 7))
    client.logout()
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    rows.filter(has_text=f"Hello {tag}").wait_for(timeout=20000)
    assert rows.count() == 3
    alone = rows.filter(has_text=f"Alone {tag}")
    assert alone.count() == 1 and "Dora, Eve" in alone.inner_text()
    assert alone.get_by_label("2 messages").is_visible()
    assert [rows.nth(i).get_attribute("data-uid") for i in range(3)] == \
        [str(uids["alone"][1] + 2), str(uids["alone"][1] + 1), str(uids["lunch2"][1])]
    assert page.locator('[data-count="conversations"]').inner_text() == "3"
    assert page.locator('[data-count="messages"]').inner_text() == "4"
