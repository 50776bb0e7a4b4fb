"""Disclaimer use-cases on a migrated SQLite database (no daemons)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.mail.disclaimer import MAX_MARKDOWN
from core.models import AuditEntry
from core.services.directory import disclaimers, lookup
from core.services.errors import InvalidInput, NotFound
from core.services.access.roles import Roles

ADMIN = "admin@example.test"


@pytest.fixture
def domains(session):
    """Two domains, one of them internationalised."""
    lookup.add_domain(session, "acme.test")
    lookup.add_domain(session, "bücher.example")
    session.flush()
    return session


def test_set_then_get_renders_sanitised_html(domains):
    disclaimers.set_disclaimer(domains, "ACME.test", True, "**Private**\r\n<script>x()</script>",
                               actor=ADMIN)
    settings = disclaimers.get_disclaimer(domains, "acme.test")
    assert settings.enabled and settings.markdown == "**Private**\n<script>x()</script>"
    assert "<strong>Private</strong>" in settings.html and "x()" not in settings.html


def test_active_disclaimer_only_when_switched_on(domains):
    assert disclaimers.active_disclaimer(domains, "acme.test") is None
    disclaimers.set_disclaimer(domains, "acme.test", False, "Text kept while off", actor=ADMIN)
    assert disclaimers.active_disclaimer(domains, "acme.test") is None
    disclaimers.set_disclaimer(domains, "acme.test", True, "Text kept while off", actor=ADMIN)
    found = disclaimers.active_disclaimer(domains, "Acme.Test")
    assert found.domain == "acme.test" and found.text == "Text kept while off"


def test_active_disclaimer_for_an_idna_sender_domain(domains):
    disclaimers.set_disclaimer(domains, "bücher.example", True, "Vertraulich", actor=ADMIN)
    assert disclaimers.active_disclaimer(domains, "BÜCHER.example").domain == "xn--bcher-kva.example"
    assert disclaimers.active_disclaimer(domains, "xn--bcher-kva.example").text == "Vertraulich"


@pytest.mark.parametrize("name", ["unknown.test", "not a domain", "", "[127.0.0.1]"])
def test_no_disclaimer_for_unknown_or_invalid_domains(domains, name):
    assert disclaimers.active_disclaimer(domains, name) is None


@pytest.mark.parametrize("text", ["", "   \n", "<script>only(script)</script>"])
def test_switching_on_an_empty_disclaimer_is_refused_and_nothing_written(domains, text):
    with pytest.raises(InvalidInput, match="Write the disclaimer text"):
        disclaimers.set_disclaimer(domains, "acme.test", True, text, actor=ADMIN)
    settings = disclaimers.get_disclaimer(domains, "acme.test")
    assert not settings.enabled and settings.markdown == ""
    assert domains.scalar(select(AuditEntry)) is None


def test_too_long_text_is_refused_with_the_limit(domains):
    with pytest.raises(InvalidInput, match=f"{MAX_MARKDOWN:,} or fewer"):
        disclaimers.set_disclaimer(domains, "acme.test", False, "x" * (MAX_MARKDOWN + 1), actor=ADMIN)
    with pytest.raises(InvalidInput):
        disclaimers.preview("x" * (MAX_MARKDOWN + 1))


def test_unknown_domain_is_not_found(domains):
    with pytest.raises(NotFound):
        disclaimers.set_disclaimer(domains, "nowhere.test", False, "", actor=ADMIN)
    with pytest.raises(NotFound):
        disclaimers.get_disclaimer(domains, "nowhere.test")


def test_change_is_audited_with_before_and_after(domains):
    disclaimers.set_disclaimer(domains, "acme.test", True, "First", actor=ADMIN)
    disclaimers.set_disclaimer(domains, "acme.test", True, "First", actor=ADMIN)  # no change
    disclaimers.set_disclaimer(domains, "acme.test", False, "Second", actor="other@acme.test")
    entries = domains.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.actor, e.action, e.kind, e.target, e.domain) for e in entries] == [
        (ADMIN, "update", "domain", "acme.test", "acme.test"),
        ("other@acme.test", "update", "domain", "acme.test", "acme.test"),
    ]
    assert json.loads(entries[1].before) == {"disclaimer_enabled": True, "disclaimer_markdown": "First"}
    assert json.loads(entries[1].after) == {"disclaimer_enabled": False, "disclaimer_markdown": "Second"}


def test_list_shows_only_the_domains_of_a_domain_admin(domains):
    every = [s.domain for s in disclaimers.list_disclaimers(domains, Roles(server=True))]
    assert every == ["acme.test", "xn--bcher-kva.example"]
    mine = disclaimers.list_disclaimers(domains, Roles(domains=frozenset({"acme.test"})))
    assert [s.domain for s in mine] == ["acme.test"]
    assert [s.unicode_name for s in disclaimers.list_disclaimers(
        domains, Roles(domains=frozenset({"xn--bcher-kva.example"})))] == ["bücher.example"]


def test_preview_is_the_html_mail_would_carry(domains):
    assert disclaimers.preview("[terms](https://acme.test/t) <iframe src=x></iframe>") == \
        '<p><a href="https://acme.test/t">terms</a> </p>'
