"""Uploads cannot fill the disk (issue 12 item 7): only server-issued compose forms take
files, each person has a byte and form budget, and abandoned uploads are removed."""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest

from core.services.mail import uploads
from tests.helpers import new_address, signed_in_client
from tests.integration.test_compose import open_form, upload


@pytest.fixture
def limited_app(mail_stack):
    from app import create_app

    return create_app({**mail_stack, "ENV": "testing", "UPLOAD_QUOTA_MB": 1,
                       "LOGIN_LIMIT_ADDRESS": "1000 per minute"})


def test_a_compose_id_the_server_did_not_issue_is_refused(app, stack_db, domain):
    client = signed_in_client(app, new_address(stack_db, domain, "forger"))
    _page, fields = open_form(client)
    made_up = {**fields, "compose_id": secrets.token_urlsafe(16)}
    answer = upload(client, made_up, "a.txt", b"x" * 100)
    assert answer.status_code == 404, answer.get_data(as_text=True)
    assert upload(client, fields, "a.txt", b"x" * 100).status_code == 200


def test_one_person_has_a_budget_across_all_forms_and_sign_ins(limited_app, stack_db, domain):
    person = new_address(stack_db, domain, "hoarder")
    first, second = signed_in_client(limited_app, person), signed_in_client(limited_app, person)
    _p, one = open_form(first)
    _p, two = open_form(second)
    assert upload(first, one, "a.bin", os.urandom(700 * 1024)).status_code == 200
    refused = upload(second, two, "b.bin", os.urandom(700 * 1024))
    assert refused.status_code == 413 and "1 MB" in refused.get_json()["error"]


def test_forms_per_session_are_capped_oldest_empty_first(app, stack_db, domain):
    client = signed_in_client(app, new_address(stack_db, domain, "tabs"))
    _p, kept = open_form(client)
    assert upload(client, kept, "keep.txt", b"k" * 10).status_code == 200
    for _ in range(uploads.MAX_FORMS + 5):
        open_form(client)
    root = Path(app.config["DATA_DIR"]) / "uploads"
    session_dir = next(d for d in root.iterdir() if (d / kept["compose_id"]).is_dir())
    assert len(list(session_dir.iterdir())) == uploads.MAX_FORMS
    assert upload(client, kept, "again.txt", b"a" * 10).status_code == 200  # with files: kept


def test_abandoned_uploads_are_removed(mail_stack, tmp_path):
    data = tmp_path
    live, gone = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    for session in (live, gone):
        space = data / "uploads" / session / secrets.token_urlsafe(16)
        space.mkdir(parents=True)
        (space / "x.bin").write_bytes(b"1")
    old = data / "uploads" / live / secrets.token_urlsafe(16)
    old.mkdir()
    (old / "y.bin").write_bytes(b"2")
    week_ago = time.time() - 7 * 86400
    os.utime(old / "y.bin", (week_ago, week_ago))
    os.utime(old, (week_ago, week_ago))
    removed = uploads.purge(data, live_sessions={live})
    assert removed == 2
    assert not (data / "uploads" / gone).exists() and not old.exists()
    assert len(list((data / "uploads" / live).iterdir())) == 1
