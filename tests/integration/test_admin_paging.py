"""The admin lists are cut into pages by the database (issue 18 item 5): domains,
mailboxes, aliases and the dashboard show one page and links that keep the filters,
and past 200 domains the domain filter is a text field instead of a menu."""
from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import delete, insert, select

from core.models import TO_MAILBOX, Alias, AliasDestination, Domain, Mailbox
from tests.integration.admin_support import server_admin

pytestmark = pytest.mark.directory  # run again on PostgreSQL (stack/test.sh)

MAILBOXES, ALIASES, EXTRA_DOMAINS = 120, 60, 200


@pytest.fixture(scope="module")
def big(stack_db):
    """A domain with 120 mailboxes and 60 aliases, and 200 more empty domains (so a server
    admin sees more than 200); all removed afterwards, as the menus of later files expect."""
    tag = uuid.uuid4().hex[:8]
    name, extra = f"paged-{tag}.test", [f"extra{n:03d}-{tag}.test" for n in range(EXTRA_DOMAINS)]
    with stack_db.transaction() as session:
        session.execute(insert(Domain), [{"name": n} for n in (name, *extra)])
        domain_id = session.scalar(select(Domain.id).where(Domain.name == name))
        session.execute(insert(Mailbox), [{"domain_id": domain_id, "local_part": f"u{n:03d}",
                                           "address": f"u{n:03d}@{name}"} for n in range(MAILBOXES)])
        first = session.scalar(select(Mailbox.id).where(Mailbox.address == f"u000@{name}"))
        made = session.execute(insert(Alias).returning(Alias.id), [
            {"local_part": f"a{n:03d}", "domain_id": domain_id} for n in range(ALIASES)]).scalars().all()
        session.execute(insert(AliasDestination), [{"alias_id": a, "kind": TO_MAILBOX, "mailbox_id": first}
                                                   for a in made])
    yield name, tag
    with stack_db.transaction() as session:
        ids = select(Domain.id).where(Domain.name.in_((name, *extra)))
        session.execute(delete(Alias).where(Alias.domain_id.in_(ids)))
        session.execute(delete(Mailbox).where(Mailbox.domain_id.in_(ids)))
        session.execute(delete(Domain).where(Domain.id.in_(ids)))


@pytest.fixture(scope="module")
def admin(app, stack_db, domain, big):
    return server_admin(app, stack_db, domain)


def listed(page: str, pattern: str) -> list[str]:
    """The names PATTERN (a regex with one group) finds in the links of PAGE."""
    return re.findall(pattern, page)


def test_mailboxes_are_shown_fifty_a_page_with_the_filter_kept(admin, big):
    name, _ = big
    first = admin.text(f"/admin/mailboxes?domain={name}")
    assert listed(first, r'href="/admin/mailboxes/(u\d+)@') == [f"u{n:03d}" for n in range(50)]
    assert f"{MAILBOXES} mailboxes, page 1 of 3" in first
    assert f'href="/admin/mailboxes?page=2&amp;domain={name}"' in first
    last = admin.text(f"/admin/mailboxes?domain={name}&page=3")
    assert listed(last, r'href="/admin/mailboxes/(u\d+)@') == [f"u{n:03d}" for n in range(100, 120)]
    assert "Page 3 of 3" in admin.text(f"/admin/mailboxes?domain={name}&page=99")  # past the end: the last


def test_a_search_is_paged_and_kept_in_the_links(admin, big):
    _, tag = big
    page = admin.text(f"/admin/mailboxes?q={tag}&page=2")
    assert listed(page, r'href="/admin/mailboxes/(u\d+)@') == [f"u{n:03d}" for n in range(50, 100)]
    assert f'href="/admin/mailboxes?page=3&amp;q={tag}"' in page


def test_aliases_are_paged(admin, big):
    name, _ = big
    second = admin.text(f"/admin/aliases?domain={name}&page=2")
    assert f"{ALIASES} aliases, page 2 of 2" in second
    assert len(listed(second, rf">(a\d+)@{re.escape(name)}</a>")) == ALIASES - 50


def test_domains_are_paged_and_counted_per_page(admin, big):
    name, tag = big
    pages, at = set(), None
    for number in range(1, 20):
        page = admin.text(f"/admin/domains?page={number}")
        shown = listed(page, r'href="/admin/domains/([^"/]+)"')
        assert 0 < len(shown) <= 50
        pages.add(number)
        if name in shown:
            at = page
        if f"Page {number} of {number}" in page:
            break
    assert at is not None and len(pages) >= 5  # 201 domains and more: five pages at least
    assert f'<a href="/admin/mailboxes?domain={name}">{MAILBOXES}</a>' in at
    assert f'<a href="/admin/aliases?domain={name}">{ALIASES}</a>' in at


def test_past_200_domains_the_filter_is_a_text_field(admin, big):
    name, _ = big
    page = admin.text(f"/admin/mailboxes?domain={name}")
    assert f'<input id="f-domain" name="domain" type="search" value="{name}"' in page
    assert '<select id="f-domain"' not in page


def test_the_dashboard_shows_one_page_of_mailboxes(admin, big):
    name, _ = big
    page = admin.text(f"/admin/?domain={name}&sort=address&order=desc")
    shown = listed(page, r'href="/admin/mailboxes/(u\d+)@')
    assert shown == [f"u{n:03d}" for n in range(119, 69, -1)]
    assert "Page 1 of 3" in page


def test_the_dashboard_sorted_by_use_shows_one_page(admin, big):
    name, _ = big
    page = admin.text(f"/admin/?domain={name}&sort=used&order=desc&page=3")
    assert len(listed(page, r'href="/admin/mailboxes/(u\d+)@')) == MAILBOXES - 100
    assert "Page 3 of 3" in page
