"""A server admin on a phone (375 px) finds a directory user, opens them and sets their
quota, which Dovecot then applies (issue 19); the console stays clean throughout."""
import pytest

from core.db import Database
from tests.conftest import free_ports
from tests.helpers import new_server_admin, sign_in
from tests.integration.ldap_support import DOMAIN, doveadm_quota_kb, ldap_stack  # noqa: F401 (fixture)
from tests.integration.process_support import served_app

pytestmark = pytest.mark.browser


def test_admin_filters_directory_users_and_saves_a_quota_on_a_phone(page, ldap_stack):
    database = Database()
    database.configure(ldap_stack["DATABASE_URL"])
    admin = new_server_admin(database, DOMAIN)
    database.engine.dispose()
    port = free_ports(1)[0]
    with served_app(ldap_stack, port):
        base = f"http://127.0.0.1:{port}"
        page.set_viewport_size({"width": 375, "height": 800})
        sign_in(page, base, admin)
        page.goto(base + "/admin/")
        page.get_by_role("navigation", name="Administration").get_by_role("link", name="Directory").click()
        page.get_by_role("heading", name="Directory users").wait_for()
        page.get_by_role("searchbox", name="Filter by name or address").fill("hopper")
        page.get_by_role("button", name="Show").click()
        page.get_by_text("1 directory user", exact=True).wait_for(timeout=30000)
        page.get_by_role("link", name="Grace Hopper").click()
        page.get_by_role("heading", name="Grace Hopper").wait_for(timeout=30000)
        assert page.get_by_text("changed there, not here").is_visible()
        page.get_by_label("Quota").fill("150")
        page.get_by_role("button", name="Save settings").click()
        page.get_by_text(f"Saved grace@{DOMAIN}").wait_for(timeout=30000)
        assert page.get_by_label("Quota").input_value() == "150"
        page.wait_for_load_state("load")  # its styles and script, before this app stops serving
    assert doveadm_quota_kb(ldap_stack, f"grace@{DOMAIN}") == str(150 * 1024)
