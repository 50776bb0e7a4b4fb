"""The readiness pages, `flask spam status`, and Rspamd's own interface behind the admin area."""
from __future__ import annotations

import json

import pytest

from tests.helpers import new_address, new_server_admin, signed_in_client

from .spam_support import counts


@pytest.fixture
def user(app, stack_db, domain):
    """A signed-in person without admin rights."""
    return signed_in_client(app, new_address(stack_db, domain, "reader"), ip="127.0.0.42")


@pytest.fixture
def admin(app, stack_db, domain):
    """A signed-in server admin."""
    return signed_in_client(app, new_server_admin(stack_db, domain, "uiadmin"), ip="127.0.0.43")


def test_pages_show_the_figures_spam_status_prints(app, mail_stack, user, admin):
    printed = json.loads(app.test_cli_runner().invoke(args=["spam", "status", "--json"]).output)
    assert (printed["learned"]["spam"], printed["learned"]["ham"]) == counts(mail_stack)
    assert printed["min_learns"] == {"spam": 200, "ham": 200}
    for client, url in ((user, "/settings/spam"), (admin, "/admin/spam")):
        page = client.get(url).get_data(as_text=True)
        assert f"<strong>{printed['learned']['spam']}</strong> of 200" in page
        assert f"<strong>{printed['learned']['ham']}</strong> of 200" in page
        assert f'max="200" value="{min(printed["learned"]["spam"], 200)}"' in page
        assert ("Bayes is active" if printed["bayes_active"] else "Bayes is not active yet") in page
    admin_page = admin.get("/admin/spam").get_data(as_text=True)
    assert f'id="queue-length">{printed["queue"]["length"]}<' in admin_page
    assert "Everyone on this server trains" in user.get("/settings/spam").get_data(as_text=True)


def test_only_server_admins_reach_the_spam_settings_and_rspamds_interface(user):
    for url in ("/admin/spam", "/admin/rspamd/", "/admin/rspamd/stat"):
        assert user.get(url, headers={"X-Requested-With": "XMLHttpRequest"}).status_code == 403
    rule = {"kind": "block_from", "value": "x.example"}
    assert user.post("/admin/spam/rules", data=rule).status_code in (400, 403)


def test_rspamds_interface_is_proxied_without_revealing_the_password(mail_stack, admin):
    password = mail_stack["RSPAMD_PASSWORD"]
    page = admin.get("/admin/rspamd/")
    assert page.status_code == 200 and b"Rspamd" in page.data
    assert "'sha256-" in page.headers["Content-Security-Policy"]
    xhr = {"X-Requested-With": "XMLHttpRequest", "Password": "whatever the login box sent"}
    stat = admin.get("/admin/rspamd/stat", headers=xhr)
    assert stat.status_code == 200 and stat.get_json()["version"]
    for response in (page, stat, admin.get("/admin/rspamd/js/app/rspamd.js")):
        assert password.encode() not in response.data
        assert password not in str(response.headers)
    # Requests a page elsewhere could make on the admin's behalf are refused.
    assert admin.get("/admin/rspamd/stat").status_code == 403
    assert admin.post("/admin/rspamd/learnspam", data=b"Subject: x\r\n\r\nforged").status_code == 403
    evil = {**xhr, "Origin": "https://evil.example"}
    assert admin.post("/admin/rspamd/learnspam", data=b"x", headers=evil).status_code == 403
    # The thresholds are Mailroom's: Rspamd's own editor may not override them.
    refused = admin.post("/admin/rspamd/saveactions", data=b"[1,2,3]", headers=xhr)
    assert refused.status_code == 403 and "Spam filter page" in refused.get_json()["error"]


@pytest.mark.parametrize("path", ["a%20b", "a%09b", "caf%C3%A9"])
def test_a_proxied_path_rspamd_cannot_take_is_a_bad_request(admin, path):
    # Issue 12: a space (or a tab, or a non-ASCII letter) in the path answered 500.
    response = admin.get(f"/admin/rspamd/{path}", headers={"X-Requested-With": "XMLHttpRequest"})
    assert response.status_code == 400
    assert "Bad request" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["./saveactions", "%2e/saveactions", "saveactions/", "./SaveActions",
                                  "%2E/./saveactions", "%2e/%2e/saveactions/."])
def test_every_spelling_of_the_threshold_editor_is_refused(admin, path):
    # Issue 12: the guard matched the raw path; Rspamd normalises it and saved the thresholds.
    # (The body is empty, so should one reach Rspamd it changes nothing there.)
    xhr = {"X-Requested-With": "XMLHttpRequest"}
    refused = admin.post(f"/admin/rspamd/{path}", data=b"", headers=xhr)
    assert refused.status_code == 403, refused.get_data(as_text=True)
    assert "Spam filter page" in refused.get_json()["error"]


def test_doubled_slashes_lead_to_the_guarded_path(admin):
    moved = admin.post("/admin/rspamd//saveactions", data=b"", headers={"X-Requested-With": "XMLHttpRequest"})
    assert moved.status_code == 308 and moved.headers["Location"].endswith("/admin/rspamd/saveactions")


@pytest.mark.parametrize("path", ["../stat", "%2e%2e/stat", "js/../stat", "js/%2E%2e/stat"])
def test_a_proxied_path_that_climbs_is_refused(admin, path):
    response = admin.get(f"/admin/rspamd/{path}", headers={"X-Requested-With": "XMLHttpRequest"})
    assert response.status_code in (400, 404)
