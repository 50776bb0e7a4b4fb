from datetime import date

import pytest

from core.mail.search import QueryError, parse


def test_operators_become_imap_criteria():
    query = parse('from:anna to:ben cc:carl subject:"budget 2027" body:zebra has:attachment '
                  "is:unread is:flagged before:2026-03-01 after:2026-01-31 lunch")
    assert query.criteria == [
        "FROM", "anna", "TO", "ben", "CC", "carl", "SUBJECT", "budget 2027", "BODY", "zebra",
        "HEADER", "Content-Type", "multipart/mixed", "UNSEEN", "FLAGGED",
        "SENTBEFORE", date(2026, 3, 1), "SENTSINCE", date(2026, 2, 1), "TEXT", "lunch",
    ]


def test_empty_query_is_all():
    assert parse("   ").criteria == ["ALL"]


def test_unclosed_quote_still_searches():
    assert parse('subject:"half').criteria == ["SUBJECT", "half"]


def test_bad_date_is_explained():
    with pytest.raises(QueryError, match="before: needs a date"):
        parse("before:tomorrow")


@pytest.mark.parametrize("text", ["{5}", "ALL)", "(DELETED", "a\r\nA1 LOGOUT", "%", "*]"])
def test_characters_that_imapclient_would_send_raw_never_survive(text):
    for item in parse(text).criteria:
        assert not any(c in str(item) for c in "(){}%*[]\r\n")
