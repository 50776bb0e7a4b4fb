"""A person makes an API token on a phone-sized screen, a script uses it to switch on
forwarding, and the person revokes it on a desktop one; the API's own page lists the
operations. The console stays clean (the page fixture fails on any error there)."""
import json
import urllib.error
import urllib.request

import pytest

from core.services.personal import forwarding
from tests.helpers import new_address, sign_in

pytestmark = pytest.mark.browser


def api(live_url: str, token: str, method: str, path: str, body: dict | None = None) -> int:
    """The status of one API request with TOKEN, as a script would send it."""
    request = urllib.request.Request(
        f"{live_url}/api/v1{path}", method=method, data=json.dumps(body).encode() if body else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_make_use_and_revoke_a_token(page, live_url, stack_db, domain):
    address = new_address(stack_db, domain, "apibrowser")
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, live_url, address)
    page.goto(live_url + "/settings")
    page.get_by_role("navigation", name="Settings sections").get_by_role("link", name="API tokens").click()
    assert page.get_by_label("admin", exact=False).count() == 0  # no admin scope for a plain person
    page.get_by_label("Name of the program or script").fill("Forwarder")
    page.get_by_label("personal: read and change your own settings").check()
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("New API token").inner_text().strip()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    assert api(live_url, token, "PUT", "/personal/forwarding",
               {"target": "elsewhere@example.org", "keep_copy": True}) == 200
    with stack_db.transaction() as session:
        assert forwarding.get_forwarding(session, address).target == "elsewhere@example.org"

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_url + "/settings/api-tokens")
    page.get_by_role("button", name="Revoke Forwarder").wait_for(timeout=20000)
    page.get_by_role("button", name="Revoke Forwarder").click()
    page.get_by_text("The token “Forwarder” is revoked.").wait_for(timeout=20000)
    assert api(live_url, token, "GET", "/personal/forwarding") == 401

    page.get_by_role("link", name="REST API").click()
    page.get_by_role("heading", name="Operations").wait_for(timeout=20000)
    assert page.get_by_role("cell", name="/api/v1/personal/forwarding").count() == 2  # GET and PUT
