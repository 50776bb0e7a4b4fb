"""Role × route matrix: nobody reaches what is not theirs (403, not merely a hidden link).

A domain admin of A, a signed-in person without a role and a server admin each try every
admin route on the objects of domain B (and the server-wide ones); the decorators must
answer 403 before any view runs, so B is unchanged afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.models import Alias, Domain, Mailbox, ServerSettings, SharedMailbox
from core.services.directory import aliases, groups, lookup, shared
from core.services.directory.lookup import SYSTEM_ACTOR
from core.services.access.roles import Roles
from tests.helpers import PASSWORD
from tests.integration.admin_support import AdminClient, domain_admin, server_admin, unique

pytestmark = pytest.mark.directory  # run again on PostgreSQL (stack/test.sh)


@dataclass(frozen=True)
class Realm:
    """One domain's objects: a mailbox, an alias, a group-owned shared mailbox."""

    domain: str
    mailbox: str
    alias_id: int
    shared: str
    group: str


def make_realm(stack_db) -> Realm:
    """A fresh domain with one object of each kind, made through the services."""
    name = f"{unique('realm')}.test"
    with stack_db.transaction() as s:
        lookup.add_domain(s, name)
        mailbox = lookup.add_mailbox(s, f"owner@{name}", PASSWORD).address
        alias = aliases.create_alias(s, SYSTEM_ACTOR, f"info@{name}", [mailbox])
        group = groups.create_group(s, SYSTEM_ACTOR, unique("g"))
        groups.add_member(s, SYSTEM_ACTOR, group, mailbox)
        box = shared.create_shared(s, SYSTEM_ACTOR, Roles(server=True), f"desk@{name}", "",
                                   [group.name])
        return Realm(name, mailbox, alias.id, box.address, group.name)


@pytest.fixture(scope="module")
def realms(stack_db, domain):
    """Domains A and B, and an alias on every domain."""
    a, b = make_realm(stack_db), make_realm(stack_db)
    with stack_db.transaction() as s:
        everywhere = aliases.create_alias(s, SYSTEM_ACTOR, f"{unique('all')}@*", [a.mailbox])
    return a, b, everywhere.id


def routes_of(r: Realm) -> list[tuple[str, str, dict]]:
    """Every admin route that touches an object of R's domain."""
    d, m, s = r.domain, r.mailbox, r.shared
    return [
        ("GET", f"/admin/domains/{d}", {}),
        ("POST", f"/admin/domains/{d}", {"mode": "relay", "relay": "127.0.0.1:25"}),
        ("GET", f"/admin/domains/{d}/delete", {}),
        ("POST", f"/admin/domains/{d}/delete", {"confirm_name": d}),
        ("POST", f"/admin/domains/{d}/admins", {"address": m}),
        ("POST", f"/admin/domains/{d}/admins/remove", {"address": m}),
        ("GET", f"/admin/mailboxes/{m}", {}),
        ("POST", f"/admin/mailboxes/{m}", {"display_name": "taken over"}),
        ("POST", f"/admin/mailboxes/{m}/password", {"password": "x" * 12, "password_again": "x" * 12}),
        ("POST", f"/admin/mailboxes/{m}/link", {}),
        ("POST", f"/admin/mailboxes/{m}/server-admin", {"server_admin": "on"}),
        ("GET", f"/admin/mailboxes/{m}/delete", {}),
        ("POST", f"/admin/mailboxes/{m}/delete", {"mail": "keep"}),
        ("GET", f"/admin/aliases/{r.alias_id}", {}),
        ("POST", f"/admin/aliases/{r.alias_id}", {"external": "thief@elsewhere.test"}),
        ("POST", f"/admin/aliases/{r.alias_id}/delete", {}),
        ("GET", f"/admin/shared/{s}", {}),
        ("POST", f"/admin/shared/{s}", {"display_name": "x", "owners": [r.group]}),
        ("GET", f"/admin/shared/{s}/delete", {}),
        ("POST", f"/admin/shared/{s}/delete", {"mail": "keep"}),
        ("GET", f"/admin/?domain={d}", {}),
        ("GET", f"/admin/mailboxes?domain={d}", {}),
        ("GET", f"/admin/aliases?domain={d}", {}),
        ("GET", f"/admin/shared?domain={d}", {}),
        ("GET", f"/admin/audit?domain={d}", {}),
        ("POST", "/admin/mailboxes/new", {"address": f"new@{d}", "password": "x" * 12}),
        ("POST", "/admin/aliases/new", {"address": f"new@{d}", "mailboxes": m}),
        ("POST", "/admin/shared/new", {"address": f"new@{d}", "owners": [r.group]}),
        ("GET", f"/admin/disclaimers/{d}", {}),
    ]


def server_wide(a: Realm, everywhere_id: int) -> list[tuple[str, str, dict]]:
    """Routes only server admins may use."""
    return [
        ("POST", "/admin/domains", {"name": f"{unique('new')}.test"}),
        ("GET", "/admin/groups", {}),
        ("POST", "/admin/groups", {"name": unique("g")}),
        ("GET", f"/admin/groups/{a.group}", {}),
        ("POST", f"/admin/groups/{a.group}", {"name": unique("g")}),
        ("POST", f"/admin/groups/{a.group}/members", {"address": a.mailbox}),
        ("POST", f"/admin/groups/{a.group}/members/remove", {"address": a.mailbox}),
        ("POST", f"/admin/groups/{a.group}/delete", {}),
        ("GET", f"/admin/aliases/{everywhere_id}", {}),
        ("POST", f"/admin/aliases/{everywhere_id}/delete", {}),
        ("GET", "/admin/aliases?domain=*", {}),
        ("POST", "/admin/aliases/new", {"address": f"{unique('x')}@*", "mailboxes": a.mailbox}),
        ("POST", f"/admin/domains/{a.domain}/delete", {"confirm_name": a.domain}),
        ("POST", f"/admin/domains/{a.domain}/admins", {"address": a.mailbox}),
        ("POST", f"/admin/mailboxes/{a.mailbox}/server-admin", {"server_admin": "on"}),
        ("GET", "/admin/server", {}),
        ("POST", "/admin/server/messages", {"message_size_mb": "1", "queue_lifetime_days": "1"}),
        ("POST", "/admin/server/bcc", {"always_bcc": a.mailbox}),
        ("POST", "/admin/server/access", {"relay_networks": "0.0.0.0/0", "auth_on_port_25": "on"}),
        ("POST", "/admin/server/helo", {"helo_name": "taken.example.org"}),
    ]


def call(client: AdminClient, method: str, url: str, data: dict) -> int:
    return (client.get(url) if method == "GET" else client.post(url, data)).status_code


def test_domain_admin_gets_403_on_everything_of_another_domain(app, stack_db, domain, realms):
    a, b, everywhere = realms
    admin_of_a = domain_admin(app, stack_db, a.domain, of=a.domain)
    answers = {(m, u): call(admin_of_a, m, u, d) for m, u, d in routes_of(b) + server_wide(a, everywhere)}
    assert {key: code for key, code in answers.items() if code != 403} == {}
    with stack_db.transaction() as s:  # nothing of B changed
        assert s.query(Domain).filter_by(name=b.domain, mode="deliver").count() == 1
        assert s.query(Mailbox).filter_by(address=b.mailbox, display_name="").count() == 1
        assert s.get(Alias, b.alias_id) is not None
        assert s.query(SharedMailbox).filter_by(address=b.shared).count() == 1
    listing = admin_of_a.get("/admin/domains").get_data(as_text=True)
    assert a.domain in listing and b.domain not in listing
    dashboard = admin_of_a.get("/admin/").get_data(as_text=True)
    assert "/admin/groups" not in dashboard and "/admin/server" not in dashboard
    with stack_db.transaction() as s:  # no server setting was stored either
        assert s.get(ServerSettings, 1) is None or s.get(ServerSettings, 1).helo_name != "taken.example.org"


def test_domain_admin_reaches_the_objects_of_their_own_domain(app, stack_db, realms):
    a, _b, _everywhere = realms
    admin_of_a = domain_admin(app, stack_db, a.domain, of=a.domain)
    # Deleting a whole domain is for server admins, even a domain's own admin.
    gets = [(m, u, d) for m, u, d in routes_of(a)
            if m == "GET" and ("/domains/" not in u or u == f"/admin/domains/{a.domain}")]
    assert {u: call(admin_of_a, m, u, d) for m, u, d in gets} == {u: 200 for _m, u, _d in gets}
    assert admin_of_a.get(f"/admin/domains/{a.domain}/delete").status_code == 403


def test_person_without_a_role_gets_403_everywhere(app, stack_db, domain, realms):
    a, b, everywhere = realms
    person = AdminClient(app, a.mailbox)
    routes = routes_of(a) + routes_of(b) + server_wide(a, everywhere) + [("GET", "/admin/", {})]
    answers = {(m, u): call(person, m, u, d) for m, u, d in routes}
    assert {key: code for key, code in answers.items() if code != 403} == {}


def test_server_admin_reaches_every_domain_and_server_wide_page(app, stack_db, domain, realms):
    a, b, everywhere = realms
    root = server_admin(app, stack_db, domain)
    gets = [(m, u, d) for m, u, d in routes_of(b) + server_wide(a, everywhere) if m == "GET"]
    assert {u: call(root, m, u, d) for m, u, d in gets} == {u: 200 for _m, u, _d in gets}
    assert 'href="/admin/server"' in root.get("/admin/").get_data(as_text=True)


def test_unknown_objects_are_404_not_403(app, stack_db, domain, realms):
    root = server_admin(app, stack_db, domain)
    for url in ("/admin/domains/nowhere.test", "/admin/mailboxes/ghost@nowhere.test",
                "/admin/aliases/999999", "/admin/shared/ghost@nowhere.test", "/admin/groups/ghost"):
        assert root.get(url).status_code == 404, url


def test_a_domain_admin_cannot_touch_a_server_admins_mailbox_on_their_domain(
        app, mail_stack, stack_db, domain):
    """Resetting the server admin's password would hand over the whole server."""
    from tests.helpers import csrf_token, new_domain_admin, new_server_admin, signed_in_client

    boss = new_server_admin(stack_db, domain, "boss")
    local_admin = new_domain_admin(stack_db, domain, of=domain, prefix="local")
    web = signed_in_client(app, local_admin)
    token = csrf_token(web.get("/admin/mailboxes").get_data(as_text=True))
    assert web.get(f"/admin/mailboxes/{boss}").status_code == 403
    for action in ("password", "link", "delete"):
        response = web.post(f"/admin/mailboxes/{boss}/{action}",
                            data={"csrf_token": token, "password": "taken-over-password-1"})
        assert response.status_code == 403, action
    from tests.helpers import imap_login
    imap_login(mail_stack, boss).logout()  # the boss's password still works


def test_list_filters_take_any_text_without_a_server_error(app, stack_db, domain, realms):
    # Issue 12 (same class as /mail/trust): text that is no domain or address reached a
    # column type that normalises, and the list pages answered 500.
    a, _, _ = realms
    root = server_admin(app, stack_db, domain)
    for url in ("/admin/?domain=no%20domain", "/admin/mailboxes?domain=%00",
                "/admin/aliases?domain=a..b", "/admin/shared?domain=-x-"):
        response = root.get(url)
        assert response.status_code == 400 and "Bad request" in response.get_data(as_text=True), url
    local = a.mailbox.split("@")[0]
    assert a.mailbox in root.text(f"/admin/mailboxes?q={local}")  # a part of an address finds it
    assert a.mailbox not in root.text("/admin/mailboxes?q=no%20such%20mailbox")
