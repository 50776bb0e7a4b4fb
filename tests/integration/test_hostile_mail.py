"""Generated malformed mail through the real stack and the real message view (issue 16 item 4).

The unit tests throw thousands of generated messages at the parser; this one hands a
few dozen to Postfix like another server would, and opens each in the webmail as a
person does: the list, the message, its body frame and its source never answer 5xx.
"""
from __future__ import annotations

import os
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings

from tests.helpers import deliver_raw, imap_login, new_address, signed_in_client
from tests.strategies import mime_part

EXAMPLES = int(os.environ.get("MAILROOM_HYPOTHESIS_MAIL_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def reader(app, stack_db, domain):
    address = new_address(stack_db, domain, "hostile", spam_to_junk=False)
    return address, signed_in_client(app, address)


def uid_with_tag(cfg: dict, address: str, tag: str, timeout: float = 20.0) -> int:
    """The UID of the INBOX message whose X-Hostile-Id is TAG, once it arrived."""
    client = imap_login(cfg, address)
    try:
        client.select_folder("INBOX", readonly=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = client.search(["HEADER", "X-Hostile-Id", tag])
            if found:
                return found[-1]
            time.sleep(0.2)
            client.noop()
    finally:
        client.logout()
    raise AssertionError(f"message {tag} never arrived")


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=mime_part())
def test_generated_mail_never_makes_the_message_view_fail(mail_stack, reader, raw):
    address, web = reader
    tag = uuid.uuid4().hex
    deliver_raw(mail_stack, address, f"X-Hostile-Id: {tag}\r\n".encode() + raw)
    uid = uid_with_tag(mail_stack, address, tag)
    for url in ("/mail?folder=INBOX", f"/mail/{uid}?folder=INBOX", f"/mail/{uid}/body?folder=INBOX",
                f"/mail/{uid}/source?folder=INBOX"):
        assert web.get(url).status_code == 200, url
