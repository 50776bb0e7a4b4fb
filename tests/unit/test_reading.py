"""Reading a message parses its bytes as seldom as it can (issue 17: each parse of a
200 KB mail is several milliseconds on the first open)."""
from email.message import EmailMessage

import pytest

from core.mail import mime
from core.services.mail import reading

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def _with_inline_images(count: int) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "shop@shop.test", "ann@example.test", "Deals"
    msg.set_content("Deals")
    tags = "".join(f'<img src="cid:img{n}@shop.test">' for n in range(count))
    msg.add_alternative(f"<p>Deals {count}</p>{tags}", subtype="html")
    html = msg.get_payload()[1]
    for n in range(count):
        html.add_related(PNG, maintype="image", subtype="png", cid=f"<img{n}@shop.test>")
    return msg.as_bytes()


@pytest.fixture
def parses(monkeypatch):
    """Counts of whole-message parses: {'message': parse_message calls, 'tree': _parse calls}."""
    counts = {"message": 0, "tree": 0}
    parse_message, parse_tree = mime.parse_message, mime._parse

    def counted_message(raw):
        counts["message"] += 1
        return parse_message(raw)

    def counted_tree(raw):
        counts["tree"] += 1
        return parse_tree(raw)

    monkeypatch.setattr(mime, "parse_message", counted_message)
    monkeypatch.setattr(mime, "_parse", counted_tree)
    return counts


def test_inline_images_are_read_from_one_parse_however_many(parses):
    raw = _with_inline_images(3)
    parsed = mime.parse_message(raw)
    parses.update(message=0, tree=0)
    html = reading.body_html(raw, False, parsed)
    assert html.html.count('src="data:image/png;base64,') == 3
    assert parses == {"message": 0, "tree": 1}  # one parse for all three images


def test_cached_html_is_served_without_parsing_the_message(parses):
    raw = _with_inline_images(1)
    first = reading.body_html(raw, False)
    assert parses["message"] == 1
    parses.update(message=0, tree=0)
    assert reading.body_html(raw, False) is first  # the body frame after the page
    assert parses == {"message": 0, "tree": 0}


def test_text_mail_has_no_html_body():
    msg = EmailMessage()
    msg["Subject"] = "plain"
    msg.set_content("only text")
    assert reading.body_html(msg.as_bytes(), False) is None
