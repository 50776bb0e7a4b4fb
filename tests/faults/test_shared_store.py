"""Redis stopped, the store the web processes share (issue 18): the webmail still serves."""
from __future__ import annotations

import uuid

from tests.helpers import csrf_token, new_address, post_login, signed_in_client

from .support import stopped


def test_redis_down_sign_in_folders_and_guess_limits_still_work(app, mail_stack, stack_db, domain):
    """Each process counts guesses by itself and lists folder trees afresh, not wrongly."""
    person, target = new_address(stack_db, domain, "nostore"), new_address(stack_db, domain, "nostore-t")
    folder = f"Kept-{uuid.uuid4().hex[:6]}"
    with stopped(mail_stack, "redis"):
        web = signed_in_client(app, person)
        assert f'data-folder="{folder}"' not in web.get("/mail").get_data(as_text=True)
        token = csrf_token(web.get("/folders").get_data(as_text=True))
        assert web.post("/folders", data={"action": "create", "name": folder,
                                          "csrf_token": token}).status_code == 302
        listed = web.get("/mail")
        assert listed.status_code == 200 and f'data-folder="{folder}"' in listed.get_data(as_text=True)
        # The app's limit is 3 per minute (tests/conftest.py); a client address per
        # guess keeps Dovecot's auth penalty out of the way.
        statuses = [post_login(app.test_client(), target, "wrong", ip=f"127.0.0.{141 + n}").status_code
                    for n in range(4)]
    assert statuses == [401, 401, 401, 429]
