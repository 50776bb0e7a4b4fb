"""Which Authentication-Results vouch for a sender (issue 12 item 6)."""
import pytest

from core.mail.provenance import verified_by

HOST = "mail.example.test"
SENDER = "news@shop.example"


def results(value: str, authserv_id: str = HOST) -> list[tuple[str, str]]:
    return [("Received", "from x by y"), ("Authentication-Results", f"{authserv_id};\r\n\t{value}")]


@pytest.mark.parametrize("value,expected", [
    ("dkim=pass header.d=shop.example header.s=s1 header.b=abc", "DKIM"),
    ("dkim=pass header.d=mail.shop.example header.s=s1", "DKIM"),  # relaxed alignment
    ("dmarc=pass (policy=reject) header.from=shop.example", "DMARC"),
    ("spf=pass (mail.example.test: domain of b@bounce.shop.example designates 1.2.3.4 "
     "as permitted sender) smtp.mailfrom=b@bounce.shop.example", "SPF"),
    ("dkim=none; spf=pass smtp.mailfrom=b@other.example; dkim=pass header.d=shop.example", "DKIM"),
], ids=["dkim", "dkim subdomain", "dmarc", "spf", "second result"])
def test_a_passing_aligned_result_vouches(value, expected):
    assert verified_by(results(value), HOST, SENDER) == expected


def test_a_signed_in_sender_vouches_under_the_submission_id():
    value = "auth=pass smtp.auth=u@shop.example smtp.mailfrom=news@shop.example"
    assert verified_by(results(value, "ORIGINATING"), HOST, SENDER) == "a signed-in sender"


@pytest.mark.parametrize("value", [
    "none",
    "dkim=pass header.d=evil.example header.s=s1",  # signed, by someone else
    "dkim=pass header.d=example header.s=s1",  # not aligned with shop.example's parent
    "dkim=fail header.d=shop.example",
    "spf=softfail smtp.mailfrom=b@shop.example",
    "spf=pass smtp.mailfrom=b@shopexample.test",
    "dmarc=fail header.from=shop.example",
    "dkim=pass header.d=shop.example.evil.test",
    "this is not ; = valid",
], ids=["none", "other domain", "parent of a suffix", "dkim fail", "softfail", "lookalike",
        "dmarc fail", "suffix trick", "garbage"])
def test_nothing_else_vouches(value):
    assert verified_by(results(value), HOST, SENDER) == ""


def test_results_of_another_server_do_not_count():
    value = "dkim=pass header.d=shop.example"
    assert verified_by(results(value, "mx.elsewhere.example"), HOST, SENDER) == ""
    assert verified_by([], HOST, SENDER) == ""


def test_only_our_first_results_count():
    # Ours is on top; anything below it with our name would have been stripped on the way in.
    headers = results("none") + results("dkim=pass header.d=shop.example")
    assert verified_by(headers, HOST, SENDER) == ""


def test_internationalised_domains_compare_in_ascii():
    value = "dkim=pass header.d=xn--bcher-kva.example"
    assert verified_by(results(value), HOST, "a@xn--bcher-kva.example") == "DKIM"
