"""Which uploaded files are messages, and the date and flags an import keeps."""
from email.parser import BytesHeaderParser
import io

import pytest

from core.services.mail import transfer


def headers(text: str):
    return BytesHeaderParser().parse(io.BytesIO(text.encode()))


@pytest.mark.parametrize("data", [
    b"Subject: hi\nFrom: a@b.test\n\nbody",  # libmagic calls this text/plain
    b"From - Mon Jan  1 10:00:00 2024\nX-Mozilla-Status: 0001\nFrom: a@b.test\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\nx",
    b"Received: from x by y; Mon, 1 Jan 2024 10:00:00 +0000\r\nFrom: a@b.test\r\n\r\nbody",
])
def test_messages_are_accepted(data):
    assert transfer.check_message(data, "m.eml", 25).rstrip().endswith((b"body", b"x"))


@pytest.mark.parametrize("data, kind", [
    (b"Dear Sir, just text\nno headers\n", "text/plain"),
    (b"%PDF-1.4\n%...", "application/pdf"),
    (b"<html><body>x</body></html>", "text/html"),
    (b"", "an empty file"),
])
def test_other_files_are_refused_in_words(data, kind):
    with pytest.raises(transfer.NotAMessage, match=f"is not an e-mail message \\(it is {kind}\\)"):
        transfer.check_message(data, "x.eml", 25)


def test_too_large_is_refused():
    with pytest.raises(transfer.NotAMessage, match="larger than 1 MB"):
        transfer.check_message(b"From: a@b.test\n\n" + b"x" * (1024 * 1024), "big.eml", 1)


def test_flags_from_the_programs_that_store_them():
    assert transfer.stored_flags(headers("X-Mozilla-Status: 0005\n\n")) == ("\\Seen", "\\Flagged")
    assert transfer.stored_flags(headers("Status: O\nX-Status: A\n\n")) == ("\\Answered",)
    assert transfer.stored_flags(headers("Status: RO\n\n")) == ("\\Seen",)
    assert transfer.stored_flags(headers("From: a@b.test\n\n")) == ("\\Seen",)


def test_date_falls_back_to_the_newest_received_line():
    found = transfer.original_date(headers(
        "Received: from a by b; Tue, 5 Mar 2019 09:12:00 +0100\nFrom: a@b.test\n\n"))
    assert found.isoformat() == "2019-03-05T09:12:00+01:00"
    assert transfer.original_date(headers("Date: nonsense\n\n")) is None
