"""The disclaimer pages: who may reach what, the preview endpoint, and a save that mail obeys.

People sign in through the real Dovecot; a saved disclaimer is proved by a message
sent afterwards over submission (the same store the webmail sends with).
"""
from __future__ import annotations

import email
import uuid
from email import policy

import pytest
from sqlalchemy import select

from core.mail.disclaimer import MARKER
from core.models import AuditEntry
from core.services.directory import disclaimers, lookup
from tests.helpers import (csrf_token, new_address, new_domain_admin, new_server_admin,
                           signed_in_client, submit, wait_for_subject)

IPS = {"server": "127.0.0.62", "domain": "127.0.0.63", "user": "127.0.0.64"}


@pytest.fixture(scope="module")
def two_domains(stack_db) -> tuple[str, str]:
    """Domains A and B of this module, B with a disclaimer already set."""
    names = tuple(f"{tag}-{uuid.uuid4().hex[:6]}.test" for tag in ("da", "db"))
    with stack_db.transaction() as session:
        for name in names:
            lookup.add_domain(session, name)
        disclaimers.set_disclaimer(session, names[1], True, "B's own text", actor="setup@test")
    return names


@pytest.fixture(scope="module")
def accounts(stack_db, two_domains, domain) -> dict[str, str]:
    """A server admin, a domain admin of A, and a plain user."""
    return {"server": new_server_admin(stack_db, domain, "srvadmin"),
            "domain": new_domain_admin(stack_db, two_domains[0], two_domains[0], "domadmin"),
            "user": new_address(stack_db, two_domains[0], "user")}


def signed_in(app, address: str, ip: str):
    """A test client signed in as ADDRESS from IP."""
    client = signed_in_client(app, address, ip=ip)
    client.environ_base["REMOTE_ADDR"] = ip  # every later request comes from IP too
    return client


@pytest.fixture(scope="module")
def clients(app, accounts):
    """One signed-in client per role."""
    return {role: signed_in(app, address, IPS[role]) for role, address in accounts.items()}


def token(client, path: str = "/admin/disclaimers") -> str:
    """A CSRF token from a page the client may open (or the sign-out form of any page)."""
    return csrf_token(client.get(path).get_data(as_text=True))


def test_domain_admin_reaches_only_their_domain(clients, two_domains, stack_db):
    a, b = two_domains
    client = clients["domain"]
    listing = client.get("/admin/disclaimers").get_data(as_text=True)
    assert a in listing and b not in listing
    assert client.get(f"/admin/disclaimers/{a}").status_code == 200
    assert client.get(f"/admin/disclaimers/{b}").status_code == 403
    response = client.post(f"/admin/disclaimers/{b}", data={
        "enabled": "on", "markdown": "taken over", "csrf_token": token(client)})
    assert response.status_code == 403
    with stack_db.transaction() as session:
        assert disclaimers.get_disclaimer(session, b).markdown == "B's own text"


def test_plain_user_gets_403_everywhere(clients, two_domains):
    client = clients["user"]
    csrf = token(client, "/")
    assert client.get("/admin/disclaimers").status_code == 403
    assert client.get(f"/admin/disclaimers/{two_domains[0]}").status_code == 403
    assert client.post("/admin/disclaimers/preview", data={"markdown": "x"},
                       headers={"X-CSRFToken": csrf}).status_code == 403


def test_server_admin_sees_every_domain_and_unknown_is_404(clients, two_domains):
    listing = clients["server"].get("/admin/disclaimers").get_data(as_text=True)
    assert all(name in listing for name in two_domains)
    assert clients["server"].get("/admin/disclaimers/missing-domain.test").status_code == 404


def test_preview_returns_sanitised_html_and_needs_the_csrf_token(clients):
    client = clients["domain"]
    source = "**Bold** <script>alert(1)</script>"
    assert client.post("/admin/disclaimers/preview", data={"markdown": source}).status_code == 400
    response = client.post("/admin/disclaimers/preview", data={"markdown": source},
                           headers={"X-CSRFToken": token(client)})
    assert response.status_code == 200
    assert response.get_json()["html"] == "<p><strong>Bold</strong> </p>"
    too_long = client.post("/admin/disclaimers/preview", data={"markdown": "x" * 20_000},
                           headers={"X-CSRFToken": token(client)})
    assert too_long.status_code == 400 and "shorten it" in too_long.get_json()["error"]


def test_refused_save_keeps_what_was_typed(clients, two_domains, stack_db):
    client = clients["domain"]
    typed = "<script>only a script</script>"
    response = client.post(f"/admin/disclaimers/{two_domains[0]}", data={
        "enabled": "on", "markdown": typed, "csrf_token": token(client)})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Write the disclaimer text" in page
    assert "&lt;script&gt;only a script&lt;/script&gt;</textarea>" in page
    with stack_db.transaction() as session:
        assert not disclaimers.get_disclaimer(session, two_domains[0]).enabled


def test_saved_disclaimer_is_on_the_next_message(clients, accounts, two_domains, mail_stack,
                                                 stack_db, domain):
    client, a = clients["domain"], two_domains[0]
    text = f"Sent from A, ref {uuid.uuid4().hex[:8]}"
    response = client.post(f"/admin/disclaimers/{a}", data={
        "enabled": "on", "markdown": f"*{text}*", "csrf_token": token(client)})
    assert response.status_code == 302
    saved_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "is added to the next message" in saved_page

    rcpt = new_address(stack_db, domain, "rcpt")
    subject = f"after save {uuid.uuid4().hex}"
    submit(mail_stack, accounts["user"], rcpt, subject)
    arrived = wait_for_subject(mail_stack, rcpt, subject)
    message = email.message_from_bytes(arrived, policy=policy.default)
    [part] = [p for p in message.iter_parts() if p.get(MARKER) == a]
    assert f"<em>{text}</em>" in part.get_body(("html",)).get_content()
    with stack_db.transaction() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.target == a)
                                .order_by(AuditEntry.id.desc())).first()
        assert entry.actor == accounts["domain"] and text in entry.after
