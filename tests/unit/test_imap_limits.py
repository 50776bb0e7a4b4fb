"""imaplib's line limit against the one-line UID SORT answer of a big folder."""
import io
import imaplib

import pytest

from core.mail import imap


def _reader(data: bytes) -> imaplib.IMAP4:
    """An IMAP4 whose server said DATA (no socket: readline reads self.file)."""
    reader = imaplib.IMAP4.__new__(imaplib.IMAP4)
    reader.file = io.BytesIO(data)
    return reader


def test_the_sort_answer_of_a_million_messages_is_read():
    answer = b"* SORT " + b" ".join(str(uid).encode() for uid in range(1, 1_000_001)) + b"\r\n"
    assert len(answer) > 6_000_000  # six times imaplib's own limit
    line = _reader(answer).readline()
    assert line == answer and line.split()[-1] == b"1000000"


def test_a_runaway_line_is_still_refused():
    with pytest.raises(imaplib.IMAP4.error, match="got more than"):
        _reader(b"* " + b"x" * imap.MAX_LINE + b"\r\n").readline()
