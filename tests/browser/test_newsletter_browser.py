"""600-px newsletters in the reading pane: they fit a phone's width and keep their
layout on a desktop (issue 16 item 1)."""
import uuid
from email.message import EmailMessage

import pytest

from tests.helpers import deliver_raw, new_address, png, sign_in, wait_for_subject

pytestmark = pytest.mark.browser

COLUMN = "<td width='300' style='padding:12px'>Opening hours change in spring: " + "details " * 30 + "</td>"
TABLE_HTML = ("<table width='600' cellpadding='0' cellspacing='0' style='width:600px' align='center'>"
              "<tr><td width='600' colspan='2' bgcolor='#204060' style='color:#fff;padding:16px'>"
              "<h1>The Spring Letter</h1></td></tr>"
              f"<tr>{COLUMN}{COLUMN}</tr></table>")
IMAGE_HTML = "<p>Our spring sale starts today.</p><img src='cid:banner@shop.test' alt='Spring banner'>"


def newsletter(to: str, kind: str) -> tuple[str, bytes]:
    """(subject, raw bytes) of a 600-px newsletter built from a table or from an image."""
    subject = f"Spring {kind} {uuid.uuid4().hex[:6]}"
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "News <news@letters.test>", to, subject
    msg.set_content("The spring letter.")
    msg.add_alternative(TABLE_HTML if kind == "table" else IMAGE_HTML, subtype="html")
    if kind == "image":
        msg.get_payload()[1].add_related(png(600, 150), "image", "png", cid="<banner@shop.test>")
    return subject, msg.as_bytes()


# The frame document's widths, and that of the newsletter's layout box (its table or image).
MEASURE = """selector => {
    const root = document.documentElement, body = getComputedStyle(document.body);
    return {scroll: root.scrollWidth, client: root.clientWidth,
            room: document.body.clientWidth - parseFloat(body.paddingLeft) - parseFloat(body.paddingRight),
            layout: document.querySelector(selector).getBoundingClientRect().width,
            rows: new Set([...document.querySelectorAll('td[width="300"]')]
                          .map(td => td.getBoundingClientRect().top)).size};
}"""


def open_newsletter(page, live_url, mail_stack, stack_db, domain, kind) -> dict:
    """Deliver a KIND newsletter, open it in the webmail like a reader; return MEASURE of its frame."""
    address = new_address(stack_db, domain, "news", spam_to_junk=False)
    subject, raw = newsletter(address, kind)
    deliver_raw(mail_stack, address, raw)
    wait_for_subject(mail_stack, address, subject)
    sign_in(page, live_url, address)
    page.get_by_role("link", name=subject).click()
    page.get_by_role("heading", name=subject).wait_for()
    frame = page.locator("iframe[title='Message body']").element_handle().content_frame()
    frame.wait_for_load_state("load")  # its stylesheet and images are in
    return frame.evaluate(MEASURE, "table" if kind == "table" else "img")


@pytest.mark.parametrize("kind", ["table", "image"])
def test_a_600px_newsletter_fits_a_phone(page, live_url, mail_stack, stack_db, domain, kind):
    page.set_viewport_size({"width": 375, "height": 740})
    body = open_newsletter(page, live_url, mail_stack, stack_db, domain, kind)
    assert body["client"] <= 375 and page.evaluate("document.documentElement.scrollWidth") <= 375
    assert body["scroll"] <= body["client"] + 1, f"the newsletter is cut off: {body}"
    assert body["layout"] <= body["room"]


@pytest.mark.parametrize("kind", ["table", "image"])
def test_a_600px_newsletter_keeps_its_layout_on_a_desktop(page, live_url, mail_stack, stack_db,
                                                          domain, kind):
    page.set_viewport_size({"width": 1280, "height": 900})
    body = open_newsletter(page, live_url, mail_stack, stack_db, domain, kind)
    assert body["scroll"] <= body["client"] + 1, f"the newsletter is cut off: {body}"
    # As wide as it was made, or as the pane allows: neither squeezed nor stretched.
    assert body["layout"] == pytest.approx(min(600, body["room"]), abs=1), body
    assert body["rows"] == (1 if kind == "table" else 0)  # the two columns stay side by side
