"""API: domains, mailboxes and aliases, through the services and route decorators the
admin pages use (portal/admin/domains.py, mailboxes.py, aliases.py)."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from core.extensions import db
from core.i18n import N_
from core.models import Alias, Domain, Mailbox
from core.services.directory import aliases, domains, links, mailboxes
from core.services.server import mailstore
from portal.admin.access import (admin_required, domain_filter, domain_of_field, owns,
                                 server_admin_required)
from portal.admin.common import actor, config, wanted_domain
from portal.admin.mailboxes import link_url

from .answers import error, flag, listing, page_arg, payload, saved, text
from .registry import operation, schema

# The OpenAPI document stays English; the docs page translates these (N_).
ANY_ADMIN, DOMAIN_ADMIN, SERVER_ADMIN = (N_("any admin (sees only their domains)"),
                                         N_("the admin of the object's domain, or a server admin"),
                                         N_("server admins"))
STRING, BOOLEAN, INTEGER = {"type": "string"}, {"type": "boolean"}, {"type": "integer"}
NUMBER_OR_NULL = {"type": ["integer", "null"]}
DOMAIN_FIELDS = {"mode": {"type": "string", "enum": list(domains.MODES)},
                 "relay": {"type": "string", "description": "host:port, for mode relay"},
                 "bcc": {"type": "string", "description": "always send a copy to ('' for none)"},
                 "catch_all": {"type": "string", "description": "'' for none"}}
MAILBOX_FIELDS = {"display_name": STRING, "enabled": BOOLEAN,
                  "quota": {"type": "string", "description": "such as 2G or 500M; '' for the default"},
                  "junk_days": {"type": "string", "description": "'' for the server's default"},
                  "forward_address": STRING, "forward_keep_copy": BOOLEAN,
                  "imap": BOOLEAN, "pop3": BOOLEAN,
                  "password": {"type": "string", "writeOnly": True}}
ALIAS_FIELDS = {"mailboxes": {"type": "array", "items": STRING},
                "shared": {"type": "array", "items": STRING},
                "external": {"type": "array", "items": STRING}, "local_only": BOOLEAN}
# The alias form's destination fields and the kind each one means.
DESTINATION_KINDS = {name: kind for kind, name in
                     (("mailbox", "mailboxes"), ("shared", "shared"), ("external", "external"))}


DOMAIN = schema("Domain", {"name": STRING, "unicode_name": STRING, "mode": DOMAIN_FIELDS["mode"],
                          "relay": STRING, "bcc": STRING, "catch_all": STRING, "dkim": BOOLEAN,
                          "require_two_factor": BOOLEAN})
schema("DomainListed", {**DOMAIN, "mailboxes": INTEGER, "aliases": INTEGER, "shared": INTEGER})


def domain_json(domain: Domain) -> dict:
    """A domain as the API shows it."""
    return {"name": domain.name, "unicode_name": domain.unicode_name, "mode": domain.mode,
            "relay": domains.relay_text(domain) or "", "bcc": domain.bcc_address or "",
            "catch_all": domain.catchall_address or "", "dkim": domain.dkim_enabled,
            "require_two_factor": domain.require_two_factor}


@operation("GET", "/domains", "admin", N_("The domains you administer, with counts, a page at a time"),
           query=("page",), who=ANY_ADMIN, answer="DomainListed", many="paged")
@admin_required
def domain_list():
    found = domains.page_of_domains(db.session, current_user.roles, page_arg())
    return jsonify(listing(found, lambda row: {**domain_json(row.domain), "mailboxes": row.mailboxes,
                                               "aliases": row.aliases, "shared": row.shared}))


@operation("POST", "/domains", "admin", N_("Add a domain delivered here"), body={"name": STRING},
           required=("name",), who=SERVER_ADMIN, answer="Domain")
@server_admin_required
def domain_create():
    name = text(payload(), "name")
    return saved(lambda: domains.create_domain(db.session, actor(), name), domain_json, 201)


@operation("GET", "/domains/<name>", "admin", N_("One domain"), who=DOMAIN_ADMIN, answer="Domain")
@owns("domain")
def domain_get(domain: Domain):
    return jsonify(domain_json(domain))


@operation("PATCH", "/domains/<name>", "admin",
           N_("Change delivery, relay, always-Bcc, catch-all or whether two-factor sign-in is required"),
           body={**DOMAIN_FIELDS, "require_two_factor": BOOLEAN}, who=DOMAIN_ADMIN, answer="Domain")
@owns("domain")
def domain_update(domain: Domain):
    body, now = payload(), domain_json(domain)
    fields = {name: text(body, name, now[name]) for name in DOMAIN_FIELDS}
    required = flag(body, "require_two_factor", now["require_two_factor"])

    def update():
        domains.update_domain(db.session, actor(), domain, **fields)
        if required != now["require_two_factor"]:
            domains.require_two_factor(db.session, actor(), domain, required)
        return domain
    return saved(update, domain_json)


@operation("DELETE", "/domains/<name>", "admin",
           N_("Remove a domain from the directory (its stored mail stays on disk)"), who=SERVER_ADMIN)
@server_admin_required
@owns("domain")
def domain_delete(domain: Domain):
    return saved(lambda: domains.delete_domain(db.session, actor(), domain,
                                               mailstore.mail_root(config())))


MAILBOX = schema("Mailbox", {"address": STRING, "domain": STRING, "display_name": STRING, "enabled": BOOLEAN,
                   "quota_mb": NUMBER_OR_NULL, "junk_days": NUMBER_OR_NULL, "forward_address": STRING,
                   "forward_keep_copy": BOOLEAN, "imap": BOOLEAN, "pop3": BOOLEAN})


def mailbox_json(mailbox: Mailbox) -> dict:
    """A mailbox as the API shows it (never its password)."""
    return {"address": mailbox.address, "domain": mailbox.domain.name,
            "display_name": mailbox.display_name, "enabled": mailbox.enabled,
            "quota_mb": mailbox.quota_mb, "junk_days": mailbox.junk_days,
            "forward_address": mailbox.forward_address or "",
            "forward_keep_copy": mailbox.forward_keep_copy,
            "imap": mailbox.imap_enabled, "pop3": mailbox.pop3_enabled}


@operation("GET", "/mailboxes", "admin", N_("Mailboxes of your domains, a page at a time"),
           query=("page", "domain", "q"), who=ANY_ADMIN, answer="Mailbox", many="paged")
@domain_filter
def mailbox_list():
    found = mailboxes.page_of_mailboxes(db.session, current_user.roles, wanted_domain(),
                                        request.args.get("q", ""), page_arg())
    return jsonify(listing(found, mailbox_json))


schema("MailboxCreated", {**MAILBOX, "set_password_link": {
    "type": "string", "description": "with link: the one-time link its owner sets a password with ('' otherwise)"},
    "link_valid_days": {"type": ["integer", "null"], "description": "how long the link works"}})


@operation("POST", "/mailboxes", "admin",
           N_("Add a mailbox with a password, or (link: true) with a one-time link for its owner to set one"),
           body={"address": STRING, "password": MAILBOX_FIELDS["password"], "link": BOOLEAN,
                 "display_name": STRING, "quota": MAILBOX_FIELDS["quota"]}, required=("address",),
           who=DOMAIN_ADMIN, answer="MailboxCreated")
@domain_of_field("address", payload)
def mailbox_create():
    body = payload()
    use_link = flag(body, "link", False)
    if use_link and text(body, "password"):
        return error("Give either a password or link: true, not both.", 422, "password")

    def create():
        quota = mailboxes.parse_size_mb(text(body, "quota"))
        return mailboxes.create_mailbox(db.session, actor(), text(body, "address"), text(body, "display_name"),
                                        None if use_link else text(body, "password"), quota)
    return saved(create, created_json, 201)


def created_json(created: mailboxes.Created) -> dict:
    """A new mailbox, with its set-password link when it was made with one."""
    link = created.link_token
    return {**mailbox_json(created.mailbox), "set_password_link": link_url(link) if link else "",
            "link_valid_days": links.VALID_FOR.days if link else None}


@operation("GET", "/mailboxes/<path:address>", "admin", N_("One mailbox"), who=DOMAIN_ADMIN, answer="Mailbox")
@owns("mailbox")
def mailbox_get(mailbox: Mailbox):
    return jsonify(mailbox_json(mailbox))


@operation("PATCH", "/mailboxes/<path:address>", "admin",
           N_("Change name, access, quota, Junk retention, forwarding, protocols or password"),
           body=MAILBOX_FIELDS, who=DOMAIN_ADMIN, answer="Mailbox")
@owns("mailbox")
def mailbox_update(mailbox: Mailbox):
    body, now, was_enabled = payload(), mailbox_json(mailbox), mailbox.enabled
    kick = []

    def update():
        mailboxes.update_mailbox(
            db.session, actor(), mailbox, display_name=text(body, "display_name", now["display_name"]),
            enabled=flag(body, "enabled", now["enabled"]),
            quota_mb=mailboxes.parse_size_mb(text(body, "quota", now["quota_mb"] or "")),
            junk_days=mailboxes.parse_days(text(body, "junk_days", now["junk_days"])),
            forward_address=text(body, "forward_address", now["forward_address"]),
            forward_keep_copy=flag(body, "forward_keep_copy", now["forward_keep_copy"]))
        if "imap" in body or "pop3" in body:
            kick.append(mailboxes.set_protocols(db.session, actor(), mailbox,
                                                imap=flag(body, "imap", now["imap"]),
                                                pop3=flag(body, "pop3", now["pop3"])))
        if "password" in body:
            mailboxes.set_password(db.session, actor(), mailbox, text(body, "password"))
        return mailbox

    answer = saved(update, mailbox_json)
    # As the pages: disabled, a protocol refused or a new password: open sessions end.
    if (was_enabled and not mailbox.enabled) or any(kick) or "password" in body:
        mailstore.kick(config(), mailbox.address)
    return answer


@operation("DELETE", "/mailboxes/<path:address>", "admin",
           N_("Remove a mailbox; its mail moves to the archive, or is erased with ?erase_mail=yes"),
           query=("erase_mail",), who=DOMAIN_ADMIN)
@owns("mailbox")
def mailbox_delete(mailbox: Mailbox):
    address, erase = mailbox.address, request.args.get("erase_mail") == "yes"
    answer = saved(lambda: mailboxes.delete_mailbox(db.session, actor(), mailbox, erase,
                                                    mailstore.mail_home(config(), address)))
    mailstore.kick(config(), address)
    return answer


schema("Alias", {"id": INTEGER, "address": STRING, **ALIAS_FIELDS})


def alias_json(alias: Alias) -> dict:
    """An alias and its destinations by kind."""
    by_kind = {name: [d.target for d in alias.destinations if d.kind == kind]
               for name, kind in DESTINATION_KINDS.items()}
    return {"id": alias.id, "address": alias.address, "local_only": alias.local_only, **by_kind}


def _destinations(body: dict) -> list[tuple[str, str]]:
    """(kind, address) pairs, as the alias form's three fields give them."""
    found = []
    for name, kind in DESTINATION_KINDS.items():
        value = body.get(name, [])
        words = value.replace(",", " ").split() if isinstance(value, str) else value
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            words = [text(body, name)]  # 400: neither a list nor a string
        found += [(kind, word.strip()) for word in words if word.strip()]
    return found


@operation("GET", "/aliases", "admin", N_("Aliases of your domains (and on every domain: ?domain=*)"),
           query=("page", "domain"), who=ANY_ADMIN, answer="Alias", many="paged")
@domain_filter
def alias_list():
    found = aliases.page_of_aliases(db.session, current_user.roles, wanted_domain(), page_arg())
    return jsonify(listing(found, alias_json))


@operation("POST", "/aliases", "admin", N_("Add an alias: local@domain, or local@* on every domain"),
           body={"address": STRING, **ALIAS_FIELDS}, required=("address",), who=DOMAIN_ADMIN,
           answer="Alias")
@domain_of_field("address", payload)
def alias_create():
    body = payload()
    return saved(lambda: aliases.create_alias(db.session, actor(), text(body, "address"),
                                              _destinations(body), flag(body, "local_only", False)),
                 alias_json, 201)


@operation("GET", "/aliases/<int:alias_id>", "admin", N_("One alias"), who=DOMAIN_ADMIN, answer="Alias")
@owns("alias")
def alias_get(alias: Alias):
    return jsonify(alias_json(alias))


@operation("PATCH", "/aliases/<int:alias_id>", "admin",
           N_("Change an alias's destinations (the kinds given replace those) or local-only flag"),
           body=ALIAS_FIELDS, who=DOMAIN_ADMIN, answer="Alias")
@owns("alias")
def alias_update(alias: Alias):
    body = {**alias_json(alias), **payload()}
    return saved(lambda: aliases.update_alias(db.session, actor(), alias, _destinations(body),
                                              flag(body, "local_only", alias.local_only)), alias_json)


@operation("DELETE", "/aliases/<int:alias_id>", "admin", N_("Remove an alias"), who=DOMAIN_ADMIN)
@owns("alias")
def alias_delete(alias: Alias):
    return saved(lambda: aliases.delete_alias(db.session, actor(), alias))
