"""Audits generated from the URL map (issue 16 item 5), so a new route cannot escape them.

ROUTES classifies every endpoint the app registers: who may reach it and a URL that
reaches it (objects of domain B). A route missing from the table fails
test_every_route_is_classified until someone decides who may use it. Then:
(a) every state-changing method refuses a request without a CSRF token (an API route
    refuses a signed-in browser's cookie without a bearer token: 401);
(b) every route answers each role (anonymous, a person without a role, the admin of
    another domain, B's domain admin, a server admin) as its class says; an API route is
    called with a token of that role holding every scope, so its role alone decides;
(c) every HTML page carries the security headers, and signing in starts a new session.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.services.access import api_tokens
from core.services.spam import spam_filter
from core.models.spam import BLOCK_FROM
from tests.helpers import (csrf_token, new_address, new_domain_admin, new_server_admin,
                           post_login)
from tests.integration.admin_support import AdminClient, WEB_IP, unique
from tests.integration.test_admin_access import Realm, make_realm

# Who may use a route.
PUBLIC, SIGNED_IN, ANY_ADMIN, DOMAIN_ADMIN, SERVER_ADMIN = (
    "public", "signed in", "any admin", "admin of the object's domain", "server admin")
ROLES = ("anonymous", "person", "other domain's admin", "domain admin", "server admin")
# Which roles each class lets in.
ALLOWED = {
    PUBLIC: set(ROLES),
    SIGNED_IN: set(ROLES) - {"anonymous"},
    ANY_ADMIN: {"other domain's admin", "domain admin", "server admin"},
    DOMAIN_ADMIN: {"domain admin", "server admin"},
    SERVER_ADMIN: {"server admin"},
}


@dataclass(frozen=True)
class Route:
    """Who may use an endpoint, and a URL of it (placeholders filled from the realm)."""

    access: str
    url: str


ROUTES = {
    "static": Route(PUBLIC, "/static/css/app.css"),
    "favicon": Route(PUBLIC, "/favicon.ico"),
    "health.healthz": Route(PUBLIC, "/healthz"),
    "auth.login": Route(PUBLIC, "/login"),
    "auth.login_code": Route(PUBLIC, "/login/code"),
    "auth.language_cookie": Route(PUBLIC, "/language"),
    "auth.logout": Route(SIGNED_IN, "/logout"),
    "auth.return_to_admin": Route(SIGNED_IN, "/return"),
    "welcome.set_password": Route(PUBLIC, "/set-password/not-a-token"),
    "autoconfig.thunderbird": Route(PUBLIC, "/mail/config-v1.1.xml?emailaddress=anyone@{domain}"),
    "autoconfig.outlook": Route(PUBLIC, "/autodiscover/autodiscover.xml?emailaddress=anyone@{domain}"),
    "webmail.index": Route(SIGNED_IN, "/mail?folder=INBOX"),
    "webmail.message": Route(SIGNED_IN, "/mail/1?folder=INBOX"),
    "webmail.conversation": Route(SIGNED_IN, "/mail/conversation/1?folder=INBOX"),
    "webmail.list_view": Route(SIGNED_IN, "/mail/view"),
    "webmail.body": Route(SIGNED_IN, "/mail/1/body?folder=INBOX"),
    "webmail.attachment": Route(SIGNED_IN, "/mail/1/part/2?folder=INBOX"),
    "webmail.attachments_zip": Route(SIGNED_IN, "/mail/1/attachments.zip?folder=INBOX"),
    "webmail.source": Route(SIGNED_IN, "/mail/1/source?folder=INBOX"),
    "webmail.delivery": Route(SIGNED_IN, "/mail/1/delivery?folder=INBOX"),
    "webmail.eml": Route(SIGNED_IN, "/mail/1/eml?folder=INBOX"),
    "webmail.print_view": Route(SIGNED_IN, "/mail/1/print?folder=INBOX"),
    "webmail.bulk": Route(SIGNED_IN, "/mail/bulk"),
    "webmail.read_all": Route(SIGNED_IN, "/mail/read-all"),
    "webmail.undo": Route(SIGNED_IN, "/mail/undo"),
    "webmail.receipt": Route(SIGNED_IN, "/mail/receipt"),
    "webmail.export_zip": Route(SIGNED_IN, "/mail/export.zip"),
    "webmail.import_messages": Route(SIGNED_IN, "/mail/import"),
    "webmail.changes": Route(SIGNED_IN, "/mail/changes?folder=INBOX"),
    "webmail.events": Route(SIGNED_IN, "/mail/events"),
    "webmail.manifest": Route(PUBLIC, "/manifest.webmanifest"),
    "webmail.service_worker": Route(PUBLIC, "/sw.js"),
    "webmail.empty": Route(SIGNED_IN, "/mail/empty"),
    "webmail.trust": Route(SIGNED_IN, "/mail/trust"),
    "webmail.folders": Route(SIGNED_IN, "/folders"),
    "webmail.compose": Route(SIGNED_IN, "/compose"),
    "webmail.contact_suggestions": Route(SIGNED_IN, "/compose/contacts?q=a"),
    "webmail.discard": Route(SIGNED_IN, "/compose/discard"),
    "webmail.save_draft": Route(SIGNED_IN, "/compose/draft"),
    "webmail.remove_attachment": Route(SIGNED_IN, "/compose/remove"),
    "webmail.send": Route(SIGNED_IN, "/compose/send"),
    "webmail.upload": Route(SIGNED_IN, "/compose/upload"),
    "webmail.scheduled": Route(SIGNED_IN, "/scheduled"),
    "webmail.contacts": Route(SIGNED_IN, "/contacts?q=a"),
    "webmail.contact_new": Route(SIGNED_IN, "/contacts/new"),
    "webmail.contact": Route(SIGNED_IN, "/contacts/card/nobody.vcf"),
    "webmail.contact_delete": Route(SIGNED_IN, "/contacts/card/nobody.vcf/delete"),
    "webmail.contact_export": Route(SIGNED_IN, "/contacts/card/nobody.vcf/vcard"),
    "webmail.contacts_export": Route(SIGNED_IN, "/contacts/export"),
    "webmail.contacts_import": Route(SIGNED_IN, "/contacts/import"),
    "webmail.contact_add_sender": Route(SIGNED_IN, "/contacts/add-sender"),
    "webmail.group_rename": Route(SIGNED_IN, "/contacts/group/rename"),
    "webmail.group_delete": Route(SIGNED_IN, "/contacts/group/delete"),
    "webmail.edit_scheduled": Route(SIGNED_IN, "/scheduled/1/edit"),
    "webmail.cancel_scheduled": Route(SIGNED_IN, "/scheduled/1/cancel"),
    "portal.index": Route(SIGNED_IN, "/settings/"),
    "portal.filter_list": Route(SIGNED_IN, "/settings/filters"),
    "portal.rule_op": Route(SIGNED_IN, "/settings/filters/0/up"),
    "portal.rule_edit": Route(SIGNED_IN, "/settings/filters/new"),
    "portal.raw_edit": Route(SIGNED_IN, "/settings/filters/raw"),
    "portal.script_op": Route(SIGNED_IN, "/settings/filters/scripts/activate"),
    "portal.tester": Route(SIGNED_IN, "/settings/filters/test"),
    "portal.forwarding_page": Route(SIGNED_IN, "/settings/forwarding"),
    "portal.identities_page": Route(SIGNED_IN, "/settings/identities"),
    "portal.identity_save": Route(SIGNED_IN, "/settings/identities/edit"),
    "portal.identity_preferences": Route(SIGNED_IN, "/settings/identities/preferences"),
    "portal.junk_page": Route(SIGNED_IN, "/settings/junk"),
    "portal.mailapp_page": Route(SIGNED_IN, "/settings/mail-app"),
    "portal.notifications_page": Route(SIGNED_IN, "/settings/notifications"),
    "portal.language_page": Route(SIGNED_IN, "/settings/language"),
    "portal.mobileconfig": Route(SIGNED_IN, "/settings/mail-app/mail.mobileconfig"),
    "portal.password_page": Route(SIGNED_IN, "/settings/password"),
    "portal.security_page": Route(SIGNED_IN, "/settings/security"),
    "portal.security_enrol": Route(SIGNED_IN, "/settings/security/enrol"),
    "portal.security_confirm": Route(SIGNED_IN, "/settings/security/confirm"),
    "portal.security_disable": Route(SIGNED_IN, "/settings/security/disable"),
    "portal.security_recovery_codes": Route(SIGNED_IN, "/settings/security/recovery-codes"),
    "portal.app_password_create": Route(SIGNED_IN, "/settings/app-passwords"),
    "portal.app_password_revoke": Route(SIGNED_IN, "/settings/app-passwords/1/revoke"),
    "portal.api_tokens_page": Route(SIGNED_IN, "/settings/api-tokens"),
    "portal.api_token_create": Route(SIGNED_IN, "/settings/api-tokens"),
    "portal.api_token_revoke": Route(SIGNED_IN, "/settings/api-tokens/1/revoke"),
    "portal.spam_page": Route(SIGNED_IN, "/settings/spam"),
    "portal.storage_page": Route(SIGNED_IN, "/settings/storage"),
    "portal.vacation_page": Route(SIGNED_IN, "/settings/vacation"),
    "admin.index": Route(ANY_ADMIN, "/admin/"),
    "admin.audit_log": Route(ANY_ADMIN, "/admin/audit"),
    "admin.api_token_list": Route(ANY_ADMIN, "/admin/api-tokens"),
    "admin.api_token_revoke": Route(DOMAIN_ADMIN, "/admin/api-tokens/{token_id}/revoke"),
    "admin.domain_list": Route(ANY_ADMIN, "/admin/domains"),
    "admin.mailbox_two_factor_reset": Route(DOMAIN_ADMIN, "/admin/mailboxes/{mailbox}/two-factor"),
    "admin.mailbox_list": Route(ANY_ADMIN, "/admin/mailboxes"),
    "admin.mailbox_create": Route(ANY_ADMIN, "/admin/mailboxes/new"),
    "admin.alias_list": Route(ANY_ADMIN, "/admin/aliases"),
    "admin.alias_create": Route(ANY_ADMIN, "/admin/aliases/new"),
    "admin.shared_list": Route(ANY_ADMIN, "/admin/shared"),
    "admin.shared_create": Route(ANY_ADMIN, "/admin/shared/new"),
    "admin.disclaimers_index": Route(ANY_ADMIN, "/admin/disclaimers"),
    "admin.disclaimer_preview": Route(ANY_ADMIN, "/admin/disclaimers/preview"),
    "admin.domain_edit": Route(DOMAIN_ADMIN, "/admin/domains/{domain}"),
    "admin.domain_delete": Route(SERVER_ADMIN, "/admin/domains/{domain}/delete"),
    "admin.domain_two_factor": Route(DOMAIN_ADMIN, "/admin/domains/{domain}/two-factor"),
    "admin.domain_admin_add": Route(SERVER_ADMIN, "/admin/domains/{domain}/admins"),
    "admin.domain_admin_remove": Route(SERVER_ADMIN, "/admin/domains/{domain}/admins/remove"),
    "admin.domain_dkim": Route(SERVER_ADMIN, "/admin/domains/{domain}/dkim"),
    "admin.domain_dkim_remove": Route(SERVER_ADMIN, "/admin/domains/{domain}/dkim/remove"),
    "admin.disclaimer_edit": Route(DOMAIN_ADMIN, "/admin/disclaimers/{domain}"),
    "admin.mailbox_edit": Route(DOMAIN_ADMIN, "/admin/mailboxes/{mailbox}"),
    "admin.mailbox_delete": Route(DOMAIN_ADMIN, "/admin/mailboxes/{mailbox}/delete"),
    "admin.mailbox_link": Route(DOMAIN_ADMIN, "/admin/mailboxes/{mailbox}/link"),
    "admin.mailbox_password": Route(DOMAIN_ADMIN, "/admin/mailboxes/{mailbox}/password"),
    "admin.mailbox_protocols": Route(DOMAIN_ADMIN, "/admin/mailboxes/{mailbox}/protocols"),
    "admin.mailbox_server_admin": Route(SERVER_ADMIN, "/admin/mailboxes/{mailbox}/server-admin"),
    "admin.mailbox_open": Route(SERVER_ADMIN, "/admin/mailboxes/{mailbox}/open"),
    "admin.alias_edit": Route(DOMAIN_ADMIN, "/admin/aliases/{alias_id}"),
    "admin.alias_delete": Route(DOMAIN_ADMIN, "/admin/aliases/{alias_id}/delete"),
    "admin.shared_edit": Route(DOMAIN_ADMIN, "/admin/shared/{shared}"),
    "admin.shared_delete": Route(DOMAIN_ADMIN, "/admin/shared/{shared}/delete"),
    "admin.domain_create": Route(SERVER_ADMIN, "/admin/domains"),
    "admin.group_list": Route(SERVER_ADMIN, "/admin/groups"),
    "admin.group_edit": Route(SERVER_ADMIN, "/admin/groups/{group}"),
    "admin.group_delete": Route(SERVER_ADMIN, "/admin/groups/{group}/delete"),
    "admin.group_member_add": Route(SERVER_ADMIN, "/admin/groups/{group}/members"),
    "admin.group_member_remove": Route(SERVER_ADMIN, "/admin/groups/{group}/members/remove"),
    "admin.spam_index": Route(SERVER_ADMIN, "/admin/spam"),
    "admin.spam_rule_add": Route(SERVER_ADMIN, "/admin/spam/rules"),
    "admin.spam_rule_delete": Route(SERVER_ADMIN, "/admin/spam/rules/{rule_id}/delete"),
    "admin.spam_thresholds": Route(SERVER_ADMIN, "/admin/spam/settings"),
    "admin.rspamd_ui": Route(SERVER_ADMIN, "/admin/rspamd/"),
    "admin.server_index": Route(SERVER_ADMIN, "/admin/server"),
    "admin.server_save": Route(SERVER_ADMIN, "/admin/server/helo"),
    "admin.server_queue": Route(SERVER_ADMIN, "/admin/server/queue"),
    "admin.server_queue_message": Route(SERVER_ADMIN, "/admin/server/queue/message/A9B57263678"),
    "admin.server_queue_flush": Route(SERVER_ADMIN, "/admin/server/queue/flush"),
    "admin.server_queue_delete": Route(SERVER_ADMIN, "/admin/server/queue/delete"),
    "admin.server_queue_delete_all": Route(SERVER_ADMIN, "/admin/server/queue/delete-all"),
    "admin.server_tracking": Route(SERVER_ADMIN, "/admin/server/tracking"),
    "admin.server_smarthost": Route(SERVER_ADMIN, "/admin/server/smarthost"),
    "admin.server_smarthost_save": Route(SERVER_ADMIN, "/admin/server/smarthost"),
    "admin.server_smarthost_clear": Route(SERVER_ADMIN, "/admin/server/smarthost/clear"),
    "admin.server_attachments": Route(SERVER_ADMIN, "/admin/server/attachments"),
    "admin.server_attachments_save": Route(SERVER_ADMIN, "/admin/server/attachments"),
    # The Directory pages answer 404 without MAILROOM_ACCOUNT_PROVIDER=ldap (this stack),
    # after the role check; test_ldap_admin.py checks their scoping against a directory.
    "admin.directory_user_list": Route(ANY_ADMIN, "/admin/directory/users"),
    "admin.directory_user_edit": Route(ANY_ADMIN, "/admin/directory/users/no-such-id"),
    "admin.directory_group_list": Route(ANY_ADMIN, "/admin/directory/groups"),
    "admin.directory_orphan_list": Route(SERVER_ADMIN, "/admin/directory/orphans"),
    "admin.directory_orphan_erase": Route(SERVER_ADMIN, "/admin/directory/orphans/no-such-id/erase"),
    "admin.directory_orphan_keep": Route(SERVER_ADMIN, "/admin/directory/orphans/no-such-id/keep"),
    "api.docs": Route(PUBLIC, "/api/v1/"),
    "api.openapi": Route(PUBLIC, "/api/v1/openapi.json"),
    "api.domain_list": Route(ANY_ADMIN, "/api/v1/domains"),
    "api.domain_create": Route(SERVER_ADMIN, "/api/v1/domains"),
    "api.domain_get": Route(DOMAIN_ADMIN, "/api/v1/domains/{domain}"),
    "api.domain_update": Route(DOMAIN_ADMIN, "/api/v1/domains/{domain}"),
    "api.domain_delete": Route(SERVER_ADMIN, "/api/v1/domains/{domain}"),
    "api.mailbox_list": Route(ANY_ADMIN, "/api/v1/mailboxes"),
    "api.mailbox_create": Route(ANY_ADMIN, "/api/v1/mailboxes"),
    "api.mailbox_get": Route(DOMAIN_ADMIN, "/api/v1/mailboxes/{mailbox}"),
    "api.mailbox_update": Route(DOMAIN_ADMIN, "/api/v1/mailboxes/{mailbox}"),
    "api.mailbox_delete": Route(DOMAIN_ADMIN, "/api/v1/mailboxes/{mailbox}"),
    "api.alias_list": Route(ANY_ADMIN, "/api/v1/aliases"),
    "api.alias_create": Route(ANY_ADMIN, "/api/v1/aliases"),
    "api.alias_get": Route(DOMAIN_ADMIN, "/api/v1/aliases/{alias_id}"),
    "api.alias_update": Route(DOMAIN_ADMIN, "/api/v1/aliases/{alias_id}"),
    "api.alias_delete": Route(DOMAIN_ADMIN, "/api/v1/aliases/{alias_id}"),
    "api.group_list": Route(SERVER_ADMIN, "/api/v1/groups"),
    "api.group_create": Route(SERVER_ADMIN, "/api/v1/groups"),
    "api.group_get": Route(SERVER_ADMIN, "/api/v1/groups/{group}"),
    "api.group_update": Route(SERVER_ADMIN, "/api/v1/groups/{group}"),
    "api.group_delete": Route(SERVER_ADMIN, "/api/v1/groups/{group}"),
    "api.group_member_add": Route(SERVER_ADMIN, "/api/v1/groups/{group}/members"),
    "api.group_member_remove": Route(SERVER_ADMIN, "/api/v1/groups/{group}/members/{mailbox}"),
    "api.shared_list": Route(ANY_ADMIN, "/api/v1/shared"),
    "api.shared_create": Route(ANY_ADMIN, "/api/v1/shared"),
    "api.shared_get": Route(DOMAIN_ADMIN, "/api/v1/shared/{shared}"),
    "api.shared_update": Route(DOMAIN_ADMIN, "/api/v1/shared/{shared}"),
    "api.shared_delete": Route(DOMAIN_ADMIN, "/api/v1/shared/{shared}"),
    "api.disclaimer_list": Route(ANY_ADMIN, "/api/v1/disclaimers"),
    "api.disclaimer_get": Route(DOMAIN_ADMIN, "/api/v1/disclaimers/{domain}"),
    "api.disclaimer_update": Route(DOMAIN_ADMIN, "/api/v1/disclaimers/{domain}"),
    "api.server_settings_get": Route(SERVER_ADMIN, "/api/v1/server/settings"),
    "api.server_settings_update": Route(SERVER_ADMIN, "/api/v1/server/settings"),
    "api.vacation_get": Route(SIGNED_IN, "/api/v1/personal/vacation"),
    "api.vacation_set": Route(SIGNED_IN, "/api/v1/personal/vacation"),
    "api.forwarding_get": Route(SIGNED_IN, "/api/v1/personal/forwarding"),
    "api.forwarding_set": Route(SIGNED_IN, "/api/v1/personal/forwarding"),
    "api.junk_get": Route(SIGNED_IN, "/api/v1/personal/junk"),
    "api.junk_set": Route(SIGNED_IN, "/api/v1/personal/junk"),
    "api.filters_get": Route(SIGNED_IN, "/api/v1/personal/filters"),
    "api.filter_rule_add": Route(SIGNED_IN, "/api/v1/personal/filters/rules"),
    "api.filter_rule_replace": Route(SIGNED_IN, "/api/v1/personal/filters/rules/0"),
    "api.filter_rule_switch": Route(SIGNED_IN, "/api/v1/personal/filters/rules/0"),
    "api.filter_rule_delete": Route(SIGNED_IN, "/api/v1/personal/filters/rules/0"),
    "api.filter_script_put": Route(SIGNED_IN, "/api/v1/personal/filters/scripts/audit"),
    "api.filter_script_delete": Route(SIGNED_IN, "/api/v1/personal/filters/scripts/audit"),
    "api.filter_script_activate": Route(SIGNED_IN, "/api/v1/personal/filters/active"),
    "api.filter_rule_move": Route(SIGNED_IN, "/api/v1/personal/filters/rules/0/move"),
}
# Answers that still mean "reached": no message 1 in a new Inbox, no such token.
REACHED_MISSING = {"webmail.message", "webmail.conversation", "webmail.body", "webmail.attachment",
                   "webmail.attachments_zip", "webmail.source", "webmail.delivery",
                   "webmail.eml", "webmail.print_view",
                   "welcome.set_password",
                   "webmail.contact", "webmail.contact_export",  # no such contact in the book
                   "admin.server_queue_message",  # no such message in the queue
                   "admin.directory_user_list", "admin.directory_user_edit", "admin.directory_group_list",
                   "admin.directory_orphan_list", "admin.directory_orphan_erase",
                   "admin.directory_orphan_keep"}  # no directory here
# POSTs that change nothing and come from programs that hold no token: Outlook's
# autodiscover query (its answers are checked in test_autoconfig.py).
QUERIES = {"autoconfig.outlook"}


@dataclass(frozen=True)
class Audit:
    """The objects the URLs name and one signed-in client per role (None: anonymous)."""

    realm: Realm
    rule_id: int
    clients: dict
    tokens: dict  # role -> an API token of that role's client with every scope
    token_id: int  # a token of the realm's mailbox


    def url(self, endpoint: str) -> str:
        r = self.realm
        return ROUTES[endpoint].url.format(domain=r.domain, mailbox=r.mailbox, alias_id=r.alias_id,
                                           shared=r.shared, group=r.group, rule_id=self.rule_id,
                                           token_id=self.token_id)


@pytest.fixture(scope="module")
def audit(app, stack_db, domain):
    other, realm = make_realm(stack_db), make_realm(stack_db)
    with stack_db.transaction() as s:
        rule = spam_filter.add_rule(s, BLOCK_FROM, f"{unique('a')}@spam.test")
    clients = {
        "anonymous": None,
        "person": AdminClient(app, new_address(stack_db, domain, "plain")),
        "other domain's admin": AdminClient(app, new_domain_admin(stack_db, domain, other.domain)),
        "domain admin": AdminClient(app, new_domain_admin(stack_db, domain, realm.domain)),
        "server admin": AdminClient(app, new_server_admin(stack_db, domain)),
    }
    tokens = {}
    for role, client in clients.items():
        if client is not None:  # every scope: the owner's role must be what refuses
            with stack_db.transaction() as s:  # (create commits: one transaction each)
                tokens[role] = api_tokens.create(s, client.address, role, list(api_tokens.SCOPES),
                                                 "", True).secret
    with stack_db.transaction() as s:
        token_id = api_tokens.create(s, realm.mailbox, "audited", ["personal:read"], "", False).token.id
    yield Audit(realm, rule.id, clients, tokens, token_id)
    with stack_db.transaction() as s:  # other tests count the Block From rules
        spam_filter.remove_rule(s, rule.id)


def methods(app, endpoint: str) -> set[str]:
    return set().union(*(r.methods for r in app.url_map.iter_rules(endpoint))) - {"HEAD", "OPTIONS"}


def test_every_route_is_classified(app):
    registered = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert registered - set(ROUTES) == set(), "classify these routes in ROUTES"
    assert set(ROUTES) - registered == set(), "these routes are gone: drop them from ROUTES"


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_state_changes_need_a_csrf_token(app, audit, endpoint):
    client = audit.clients["server admin"]
    changing = methods(app, endpoint) - {"GET"}
    if not changing or endpoint in QUERIES:
        pytest.skip("GET only" if not changing else "a query that changes nothing")
    # 401: the API takes no cookie session, only a bearer token (never sent by itself).
    refusals = (401,) if endpoint.startswith("api.") else (400, 403)
    for method in changing:
        response = client.client.open(audit.url(endpoint), method=method, data={"x": "1"},
                                       environ_base={"REMOTE_ADDR": WEB_IP})
        # 403: the Rspamd interface proves origin by X-Requested-With instead of a token.
        assert response.status_code in refusals, (method, endpoint, response.status_code)


def outcome(response) -> str:
    """'login', 'denied' or 'reached' for an answer."""
    if response.status_code in (302, 303) and "/login" in response.headers.get("Location", ""):
        return "login"
    if response.status_code == 401:
        return "login"
    if response.status_code == 403:
        return "denied"
    return "reached"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_each_role_gets_what_the_route_class_allows(app, audit, endpoint, role):
    allowed = role in ALLOWED[ROUTES[endpoint].access]
    client = audit.clients[role]
    url = audit.url(endpoint)
    if endpoint.startswith("api."):
        response = _api_call(app, audit.tokens.get(role), url, methods(app, endpoint), allowed)
    elif "GET" in methods(app, endpoint):
        response = client.get(url) if client else app.test_client().get(url)
    elif allowed:
        pytest.skip("a POST-only route is not run for a role it lets in (it would act)")
    else:
        response = _post_with_token(app, client, url)
    seen = outcome(response)
    if allowed:
        assert seen == "reached", (endpoint, role, response.status_code)
        assert response.status_code < 500
        if response.status_code == 404:
            assert endpoint in REACHED_MISSING, (endpoint, role)
    else:
        assert seen == ("login" if role == "anonymous" else "denied"), (endpoint, role, response.status_code)


def _api_call(app, token: str | None, url: str, allowed_methods: set[str], allowed: bool):
    """The API route at URL called with TOKEN (None: anonymous, no Authorization header)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    method = "GET" if "GET" in allowed_methods else allowed_methods.pop()
    if method != "GET" and allowed:
        pytest.skip("a changing API route is not run for a role it lets in (it would act)")
    return app.test_client().open(url, method=method, headers=headers, environ_base={"REMOTE_ADDR": WEB_IP},
                                  **({} if method == "GET" else {"json": {}}))


def _post_with_token(app, client, url):
    if client is not None:
        return client.post(url, {})
    anonymous = app.test_client()
    token = csrf_token(anonymous.get("/login").get_data(as_text=True))
    return anonymous.post(url, data={"csrf_token": token})


@pytest.mark.parametrize("endpoint", sorted(e for e, r in ROUTES.items() if r.access != PUBLIC)
                         + ["auth.login"])
def test_html_pages_carry_the_security_headers(app, audit, endpoint):
    if "GET" not in methods(app, endpoint):
        pytest.skip("no page to look at")
    response = audit.clients["server admin"].get(audit.url(endpoint))
    if not response.mimetype == "text/html":
        pytest.skip(f"{response.mimetype}, not a page")
    headers = response.headers
    assert "frame-ancestors" in headers.get("Content-Security-Policy", ""), endpoint
    assert headers.get("X-Content-Type-Options") == "nosniff", endpoint
    assert headers.get("Referrer-Policy"), endpoint


def test_signing_in_starts_a_new_session(app, stack_db, domain):
    address = new_address(stack_db, domain, "fixation")
    client = app.test_client()
    client.get("/login")
    before = client.get_cookie("session").value
    assert post_login(client, address).status_code == 302
    after = client.get_cookie("session").value
    assert after != before
    stale = app.test_client()
    stale.set_cookie("session", before)
    assert outcome(stale.get("/mail")) == "login"
