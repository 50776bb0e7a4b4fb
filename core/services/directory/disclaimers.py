"""Per-domain disclaimers: read, change and preview them; what the mail filter attaches.

The filter in stack/filter calls active_disclaimer() for every message, so a change
saved here applies to the next message sent, with nothing restarted.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.i18n import lazy_number
from core.mail.disclaimer import MAX_MARKDOWN, Disclaimer, html_to_text, render, render_html
from core.models import Domain, InvalidName, normalize_domain
from core.services.access import audit
from core.services.access.roles import Roles
from core.services.errors import InvalidInput

from .lookup import get_domain


@dataclass(frozen=True)
class DisclaimerSettings:
    """One domain's disclaimer as the admin pages show it.

    e.g. DisclaimerSettings("example.test", "example.test", True, "**Private**",
    "<p><strong>Private</strong></p>")
    """

    domain: str
    unicode_name: str
    enabled: bool
    markdown: str
    html: str


def _settings(domain: Domain) -> DisclaimerSettings:
    """The settings of DOMAIN, with its Markdown rendered."""
    source = domain.disclaimer_markdown or ""
    return DisclaimerSettings(domain.name, domain.unicode_name, bool(domain.disclaimer_enabled),
                              source, render_html(source))


def list_disclaimers(db: Session, roles: Roles) -> list[DisclaimerSettings]:
    """The disclaimers of every domain ROLES may manage, by domain name."""
    query = select(Domain).order_by(Domain.name)
    if not roles.server:
        query = query.where(Domain.name.in_(roles.domains))
    return [_settings(domain) for domain in db.scalars(query)]


def get_disclaimer(db: Session, domain_name: str) -> DisclaimerSettings:
    """The disclaimer of DOMAIN_NAME; NotFound when there is no such domain."""
    return _settings(get_domain(db, domain_name))


def _clean_source(markdown: str) -> str:
    """MARKDOWN with uniform line ends, refused when too long."""
    source = (markdown or "").replace("\r\n", "\n").replace("\r", "\n")
    if len(source) > MAX_MARKDOWN:
        raise InvalidInput(
            _l('The disclaimer is %(source)s characters long; shorten it to %(max_markdown)s or '
               'fewer.', source=lazy_number(len(source)), max_markdown=lazy_number(MAX_MARKDOWN)))
    return source


def set_disclaimer(db: Session, domain_name: str, enabled: bool, markdown: str, *,
                   actor: str) -> DisclaimerSettings:
    """Store DOMAIN_NAME's disclaimer and whether mail sent from it carries it (audited)."""
    source = _clean_source(markdown)
    if enabled and not html_to_text(render_html(source)):
        raise InvalidInput(_l("Write the disclaimer text before switching it on "
                           "(it is empty once unsafe markup is removed)."))
    domain = get_domain(db, domain_name)
    before = _audited(domain)
    domain.disclaimer_enabled = enabled
    domain.disclaimer_markdown = source
    db.flush()
    audit.record(db, actor, "update", "domain", domain.name, domain=domain.name,
                 before=before, after=_audited(domain))
    return _settings(domain)


def _audited(domain: Domain) -> dict:
    """The disclaimer fields of DOMAIN as the audit log keeps them."""
    return {"disclaimer_enabled": bool(domain.disclaimer_enabled),
            "disclaimer_markdown": domain.disclaimer_markdown or ""}


def preview(markdown: str) -> str:
    """The sanitised HTML that mail would carry for MARKDOWN."""
    return render_html(_clean_source(markdown))


def active_disclaimer(db: Session, domain_name: str) -> Disclaimer | None:
    """The disclaimer mail from DOMAIN_NAME must carry, or None (off, empty, no such domain)."""
    try:
        name = normalize_domain(domain_name)
    except InvalidName:
        return None
    domain = db.scalar(select(Domain).where(Domain.name == name))
    if domain is None or not domain.disclaimer_enabled:
        return None
    disclaimer = render(domain.name, domain.disclaimer_markdown or "")
    return disclaimer if disclaimer.text else None
