"""The REST API /api/v1 against the real stack: tokens made in the portal, Postfix and
Dovecot obeying what the API changed, scoping by role and scope, revocation, limits."""
from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, update

from core.mail.sieve_rules import read
from core.models import DOMAIN_ADMIN, AdminRole, ApiToken, AuditEntry
from core.models.base import utcnow
from core.services.access import api_tokens
from core.services.directory import lookup
from tests.helpers import (PASSWORD, csrf_token, imap_login, message, new_address, new_domain_admin,
                           new_server_admin, signed_in_client, wait_for_subject)
from tests.integration.admin_support import AdminClient, unique
from tests.integration.portal_support import create_folders, lmtp_deliver, managesieve
from tests.integration.test_admin_access import make_realm
from tests.integration.test_stack import postmap

pytestmark = pytest.mark.directory
GUESSER = "127.0.0.141"  # the token-guessing client's own address (its limit is per client)
TOKEN_SHOWN = re.compile(r'aria-label="New API token">(mrt_[A-Za-z0-9_-]+)<')


def make_token(stack_db, address: str, *scopes: str) -> str:
    """A token of ADDRESS with SCOPES, made through the service as the portal makes it."""
    with stack_db.transaction() as s:
        return api_tokens.create(s, address, unique("script"), list(scopes), "", True).secret


def call(app, token: str | None, method: str, path: str, body=None, ip: str = "127.0.0.1"):
    """One API request with TOKEN (None: no Authorization header) from IP."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().open(f"/api/v1{path}", method=method, json=body, headers=headers,
                                  environ_base={"REMOTE_ADDR": ip})


def conforms(app, name: str, answer: dict) -> bool:
    """Whether ANSWER has exactly the properties the OpenAPI document's schema NAME lists."""
    schema = app.test_client().get("/api/v1/openapi.json").json["components"]["schemas"][name]
    return set(answer) == set(schema["properties"]) == set(schema["required"])


def test_portal_token_sets_vacation_in_sieve_and_revoking_it_locks_it_out(app, mail_stack, stack_db,
                                                                           domain):
    address = new_address(stack_db, domain, "apiuser")
    browser = signed_in_client(app, address)
    page = browser.get("/settings/api-tokens").get_data(as_text=True)
    made = browser.post("/settings/api-tokens", data={
        "csrf_token": csrf_token(page), "name": "Holiday script", "scopes": ["personal"], "days": ""})
    assert made.status_code == 200
    token = TOKEN_SHOWN.search(made.get_data(as_text=True)).group(1)
    # A plain person cannot give a token an admin scope: the page's words, nothing made.
    refused = browser.post("/settings/api-tokens", data={
        "csrf_token": csrf_token(page), "name": "Too much", "scopes": ["admin"]})
    assert refused.status_code == 422
    assert "Only admins can give a token an admin scope." in refused.get_data(as_text=True)

    subject = unique("Away")
    answer = call(app, token, "PUT", "/personal/vacation", {
        "enabled": True, "subject": subject, "message": "Back on Monday.", "days": 3})
    assert answer.status_code == 200, answer.json
    with managesieve(mail_stack, address) as store:  # what Pigeonhole will run
        script = read(store.get(store.listing().active))
    assert script.vacation.enabled and script.vacation.subject == subject and script.vacation.days == 3
    shown = call(app, token, "GET", "/personal/vacation").json
    assert shown["subject"] == subject and conforms(app, "VacationState", shown)
    # The same check and words as the vacation page.
    empty = call(app, token, "PUT", "/personal/vacation", {"enabled": True, "subject": " "})
    assert (empty.status_code, empty.json) == (422, {"error": "The reply needs a subject.",
                                                     "field": "subject"})
    # The signed-in browser's cookie alone never reaches the API (no CSRF through it).
    assert browser.get("/api/v1/personal/vacation").status_code == 401
    assert browser.put("/api/v1/personal/forwarding", json={"target": ""}).status_code == 401
    # A personal token reaches no admin object.
    assert call(app, token, "GET", "/domains").status_code == 403

    listed = browser.get("/settings/api-tokens").get_data(as_text=True)
    assert "Holiday script" in listed and "127.0.0.1" in listed  # its last use, and from where
    token_id = re.search(r"/settings/api-tokens/(\d+)/revoke", listed).group(1)
    browser.post(f"/settings/api-tokens/{token_id}/revoke", data={"csrf_token": csrf_token(listed)})
    gone = call(app, token, "GET", "/personal/vacation")
    assert gone.status_code == 401 and gone.json["error"].startswith("The token is not valid")


def test_rule_added_through_the_api_files_mail_and_is_checked_as_in_the_builder(app, mail_stack,
                                                                             stack_db, domain):
    address = new_address(stack_db, domain, "apirules")
    create_folders(mail_stack, address, "Bills")
    token = make_token(stack_db, address, "personal")
    word = unique("invoice")
    rule = {"name": "Bills", "conditions": [{"field": "subject", "op": "contains", "value": word}],
            "actions": [{"kind": "move", "value": "Nope"}]}
    refused = call(app, token, "POST", "/personal/filters/rules", rule)
    assert refused.json == {"error": "There is no folder 'Nope'.", "field": "act-0-folder"}
    rule["actions"][0]["value"] = "Bills"
    added = call(app, token, "POST", "/personal/filters/rules", rule)
    assert added.status_code == 201, added.json
    assert conforms(app, "Filters", added.json)
    assert added.json["rules"][0]["text"] == f"When the subject contains “{word}”, move it to Bills."
    lmtp_deliver(mail_stack, address, message("a@outside.test", address, f"Your {word}").as_bytes())
    wait_for_subject(mail_stack, address, word, folder="Bills")
    off = call(app, token, "PATCH", "/personal/filters/rules/0", {"name": "Bills", "enabled": False})
    assert off.json["rules"][0]["enabled"] is False


def test_rules_reordered_and_scripts_switched_through_the_api_are_what_managesieve_holds(app, mail_stack,
                                                                                        stack_db, domain):
    address = new_address(stack_db, domain, "apiscripts")
    token = make_token(stack_db, address, "personal")
    for name, action in (("First", "flag"), ("Second", "read")):
        rule = {"name": name, "conditions": [{"field": "subject", "op": "contains", "value": unique("w")}],
                "actions": [{"kind": action}]}
        assert call(app, token, "POST", "/personal/filters/rules", rule).status_code == 201
    moved = call(app, token, "POST", "/personal/filters/rules/1/move", {"name": "Second", "direction": "up"})
    assert moved.status_code == 200 and [r["name"] for r in moved.json["rules"]] == ["Second", "First"]
    assert call(app, token, "POST", "/personal/filters/rules/1/move",
                {"name": "Second", "direction": "up"}).json == {  # the builder's check: a stale index
        "error": "The rules changed in the meantime. Look at the list again and retry.", "field": None}
    with managesieve(mail_stack, address) as store:
        builder = store.listing().active
        assert [r.name for r in read(store.get(builder)).rules] == ["Second", "First"]

    raw = 'require "fileinto";\nif header :contains "subject" "x" { discard; }\n'
    assert call(app, token, "PUT", "/personal/filters/scripts/hand", {"text": raw}).status_code == 200
    on = call(app, token, "PUT", "/personal/filters/active", {"script": "hand"})
    assert on.status_code == 200 and on.json["active"] == "hand"
    refused = call(app, token, "DELETE", "/personal/filters/scripts/hand")
    assert (refused.status_code, refused.json["error"]) == (
        422, "The active script cannot be deleted; switch it off first.")
    with managesieve(mail_stack, address) as store:
        assert store.listing().active == "hand"
    off = call(app, token, "PUT", "/personal/filters/active", {"script": ""})
    assert off.status_code == 200 and off.json["active"] == ""
    assert call(app, token, "DELETE", "/personal/filters/scripts/hand").status_code == 204
    with managesieve(mail_stack, address) as store:
        assert store.listing().active is None and store.listing().names == [builder]
    missing = call(app, token, "PUT", "/personal/filters/active", {"script": "hand"})
    assert (missing.status_code, missing.json["error"]) == (422, "There is no script 'hand'.")


def test_alias_made_through_the_api_is_resolved_by_postfix(app, mail_stack, stack_db, domain):
    realm = make_realm(stack_db)
    admin = new_domain_admin(stack_db, domain, realm.domain)
    token = make_token(stack_db, admin, "admin")
    address = f"{unique('team')}@{realm.domain}"
    made = call(app, token, "POST", "/aliases", {"address": address, "mailboxes": [realm.mailbox]})
    assert made.status_code == 201 and conforms(app, "Alias", made.json), made.json
    assert postmap(mail_stack, "aliases", address) == realm.mailbox
    changed = call(app, token, "PATCH", f"/aliases/{made.json['id']}",
                   {"external": ["partner@elsewhere.example"]})
    assert sorted(changed.json["mailboxes"] + changed.json["external"]) == sorted(
        [realm.mailbox, "partner@elsewhere.example"])
    assert sorted(postmap(mail_stack, "aliases", address).split(",")) == sorted(
        [realm.mailbox, "partner@elsewhere.example"])
    assert call(app, token, "DELETE", f"/aliases/{made.json['id']}").status_code == 204
    assert postmap(mail_stack, "aliases", address) is None

    # A refusal says what the admin page says, word for word.
    bad = {"address": f"two words@{realm.domain}", "mailboxes": [realm.mailbox]}
    refused = call(app, token, "POST", "/aliases", bad)
    assert refused.status_code == 422
    page = AdminClient(app, admin).post("/admin/aliases/new", {**bad, "mailboxes": realm.mailbox})
    assert page.status_code == 400
    assert html.escape(refused.json["error"]) in page.get_data(as_text=True)


def test_domain_admin_tokens_reach_their_domains_only_and_lose_them_with_the_role(app, stack_db,
                                                                                  domain):
    mine, theirs = make_realm(stack_db), make_realm(stack_db)
    admin = new_domain_admin(stack_db, domain, mine.domain)
    token, reader = make_token(stack_db, admin, "admin"), make_token(stack_db, admin, "admin:read")
    listed = call(app, token, "GET", f"/aliases?domain={mine.domain}").json
    assert [a["address"] for a in listed["items"]] == [f"info@{mine.domain}"] and listed["total"] == 1
    [listed_domain] = call(app, token, "GET", "/domains").json["items"]
    assert listed_domain["name"] == mine.domain and conforms(app, "DomainListed", listed_domain)
    shown = call(app, token, "GET", f"/mailboxes/{mine.mailbox}").json
    assert shown["address"] == mine.mailbox and conforms(app, "Mailbox", shown)
    # Another domain's objects answer as the pages do; server-wide ones are refused.
    assert call(app, token, "GET", f"/mailboxes/{theirs.mailbox}").status_code == 403
    assert call(app, token, "GET", f"/aliases/{theirs.alias_id}").status_code == 403
    assert call(app, token, "POST", "/aliases", {"address": f"x@{theirs.domain}",
                                                 "mailboxes": [theirs.mailbox]}).status_code == 403
    assert call(app, token, "GET", "/groups").status_code == 403
    assert call(app, token, "GET", "/mailboxes/nobody@nowhere.test").status_code == 404
    # admin:read reads, and changes nothing.
    assert call(app, reader, "GET", f"/domains/{mine.domain}").status_code == 200
    refused = call(app, reader, "PATCH", f"/mailboxes/{mine.mailbox}", {"display_name": "X"})
    assert refused.status_code == 403 and "admin" in refused.json["error"]
    assert call(app, token, "PATCH", f"/mailboxes/{mine.mailbox}",
                {"display_name": "Owner", "quota": "2G"}).json["quota_mb"] == 2048
    # Demoted: the very next request is refused.
    with stack_db.transaction() as s:
        s.execute(delete(AdminRole).where(
            AdminRole.mailbox_id == lookup.get_mailbox(s, admin).id, AdminRole.role == DOMAIN_ADMIN))
    assert call(app, token, "GET", f"/domains/{mine.domain}").status_code == 403


def test_mailbox_made_with_a_link_through_the_api_lets_its_owner_choose_the_password(app, mail_stack,
                                                                                      stack_db, domain):
    realm = make_realm(stack_db)
    token = make_token(stack_db, new_domain_admin(stack_db, domain, realm.domain), "admin")
    address = f"{unique('linked')}@{realm.domain}"
    both = call(app, token, "POST", "/mailboxes", {"address": address, "link": True, "password": PASSWORD})
    assert (both.status_code, both.json["field"]) == (422, "password")
    made = call(app, token, "POST", "/mailboxes", {"address": address, "link": True, "display_name": "New"})
    assert made.status_code == 201 and conforms(app, "MailboxCreated", made.json), made.json
    assert made.json["address"] == address and made.json["link_valid_days"] == 7
    path = "/set-password/" + made.json["set_password_link"].rsplit("/set-password/", 1)[1]
    visitor = app.test_client()
    form = visitor.get(path).get_data(as_text=True)
    assert address in form
    assert visitor.post(path, data={"password": PASSWORD, "password_again": PASSWORD,
                                    "csrf_token": csrf_token(form)}).status_code == 302
    imap_login(mail_stack, address).logout()  # Dovecot takes the password its owner chose
    plain = call(app, token, "POST", "/mailboxes", {"address": f"{unique('pw')}@{realm.domain}",
                                                    "password": PASSWORD})
    assert plain.status_code == 201 and plain.json["set_password_link"] == "" and plain.json["link_valid_days"] is None


def test_expired_and_guessed_tokens_are_refused_and_guessing_is_limited(app, stack_db, domain, mail_stack):
    address = new_address(stack_db, domain, "expiring")
    token = make_token(stack_db, address, "personal:read")
    assert conforms(app, "Junk", call(app, token, "GET", "/personal/junk").json)
    with stack_db.transaction() as s:
        s.execute(update(ApiToken).where(ApiToken.address == address)
                  .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert call(app, token, "GET", "/personal/junk").status_code == 401
    realm = make_realm(stack_db)  # a domain that starts requiring two-factor sign-in
    owner = make_token(stack_db, realm.mailbox, "personal:read")
    with stack_db.transaction() as s:
        lookup.get_domain(s, realm.domain).require_two_factor = True
    required = call(app, owner, "GET", "/personal/junk")
    assert required.status_code == 403 and "two-factor" in required.json["error"]
    fresh = make_token(stack_db, address, "personal:read")
    limit = int(app.config["LOGIN_LIMIT_IP"].split()[0])
    answers = [call(app, f"mrt_{unique('guess')}", "GET", "/personal/junk", ip=GUESSER).status_code
               for _ in range(limit + 1)]
    assert answers[:limit] == [401] * limit and answers[-1] == 429
    # Past the limit the client is refused even with a good token; other clients are not.
    assert call(app, fresh, "GET", "/personal/junk", ip=GUESSER).status_code == 429
    assert call(app, fresh, "GET", "/personal/junk").status_code == 200


def test_a_tokens_last_use_is_written_once_a_minute_per_client_address(app, stack_db, domain):
    address = new_address(stack_db, domain, "polling")
    token = make_token(stack_db, address, "personal:read")

    def last_use(ago: int | None = None):
        with stack_db.transaction() as s:
            if ago is not None:
                s.execute(update(ApiToken).where(ApiToken.address == address)
                          .values(last_used_at=utcnow() - timedelta(seconds=ago)))
            row = s.query(ApiToken).filter_by(address=address).one()
            return row.last_used_at, row.last_used_ip

    assert call(app, token, "GET", "/personal/junk").status_code == 200
    assert last_use()[1] == "127.0.0.1"
    before = last_use(ago=30)[0]
    call(app, token, "GET", "/personal/junk")
    assert last_use() == (before, "127.0.0.1")  # 30 s ago: no write
    call(app, token, "GET", "/personal/junk", ip="127.0.0.142")
    moved = last_use()
    assert moved[1] == "127.0.0.142" and moved[0] > before  # another address: written
    before = last_use(ago=61)[0]
    call(app, token, "GET", "/personal/junk", ip="127.0.0.142")
    assert last_use()[0] > before


def test_admins_list_and_revoke_their_domains_tokens_on_the_page_and_the_cli(app, stack_db, domain):
    mine, theirs = make_realm(stack_db), make_realm(stack_db)
    admin = AdminClient(app, new_domain_admin(stack_db, domain, mine.domain))
    boss = new_server_admin(stack_db, mine.domain)  # lives on the domain, administers more
    ours, foreign, bosses = (make_token(stack_db, owner, "personal:read")
                             for owner in (mine.mailbox, theirs.mailbox, boss))
    with stack_db.transaction() as s:
        ids = {row.address: row.id for row in s.query(ApiToken).filter(
            ApiToken.address.in_([mine.mailbox, theirs.mailbox, boss]))}
    assert call(app, ours, "GET", "/personal/junk").status_code == 200  # a last use to show
    page = admin.text("/admin/api-tokens")
    assert mine.mailbox in page and "127.0.0.1" in page
    assert theirs.mailbox not in page and boss not in page
    assert admin.post(f"/admin/api-tokens/{ids[theirs.mailbox]}/revoke").status_code == 403
    assert admin.post(f"/admin/api-tokens/{ids[boss]}/revoke").status_code == 403
    done = admin.post(f"/admin/api-tokens/{ids[mine.mailbox]}/revoke")
    assert done.status_code == 302
    assert call(app, ours, "GET", "/personal/junk").status_code == 401
    assert call(app, foreign, "GET", "/personal/junk").status_code == 200
    with stack_db.transaction() as s:
        [entry] = s.query(AuditEntry).filter_by(kind="api token", action="revoke", domain=mine.domain).all()
        assert entry.actor == admin.address and entry.target.startswith(mine.mailbox)

    runner = app.test_cli_runner()
    listed = json.loads(runner.invoke(args=["api-tokens", "list", "--json"]).output)
    states = {row["owner"]: row["state"] for row in listed if row["id"] in ids.values()}
    assert states == {mine.mailbox: "revoked", theirs.mailbox: "active", boss: "active"}
    revoked = runner.invoke(args=["api-tokens", "revoke", str(ids[boss])])
    assert revoked.exit_code == 0 and boss in revoked.output
    assert call(app, bosses, "GET", "/personal/junk").status_code == 401
    again = runner.invoke(args=["api-tokens", "revoke", str(ids[boss])])
    assert again.exit_code == 1 and "revoked already" in again.output


def test_openapi_document_describes_every_api_route(app):
    document = app.test_client().get("/api/v1/openapi.json").json
    assert document["openapi"] == "3.1.0"
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint in ("api.openapi", "api.docs"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert document["paths"][path][method.lower()]["operationId"] == rule.endpoint.split(".")[1]
    page = app.test_client().get("/api/v1/").get_data(as_text=True)
    assert "/api/v1/aliases/{alias_id}" in page and "openapi.json" in page


def test_server_settings_refuse_what_the_page_refuses_and_only_for_server_admins(app, stack_db, domain):
    root = make_token(stack_db, new_server_admin(stack_db, domain), "admin")
    before = call(app, root, "GET", "/server/settings").json
    refused = call(app, root, "PATCH", "/server/settings",
                   {"message_size_mb": 5000, "queue_lifetime_days": "x"})
    assert refused.status_code == 422
    assert refused.json["errors"]["message_size_mb"].startswith(
        "Maximum message size: enter a whole number of MB from 1 to 50")
    assert set(refused.json["errors"]) == {"message_size_mb", "queue_lifetime_days"}
    assert call(app, root, "GET", "/server/settings").json == before  # nothing stored
    realm = make_realm(stack_db)
    admin = make_token(stack_db, new_domain_admin(stack_db, domain, realm.domain), "admin")
    assert call(app, admin, "PATCH", "/server/settings", {"helo_name": "x.test"}).status_code == 403
