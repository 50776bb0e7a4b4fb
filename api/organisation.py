"""API: groups, shared mailboxes, disclaimers and the server's settings, through the
services and route decorators the admin pages use (portal/admin/groups.py, shared.py,
disclaimers.py, server.py), with the same steps after each change."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from core.extensions import db
from core.models import Domain, Group, SharedMailbox
from core.services.directory import disclaimers, groups, shared
from core.services.errors import ServiceError
from core.services.server import mailstore, settings
from portal.admin.access import (admin_required, domain_filter, domain_of_field, owns,
                                 server_admin_required)
from portal.admin.common import actor, config, wanted_domain

from .answers import flag, payload, saved, strings, text
from .directory import ANY_ADMIN, BOOLEAN, DOMAIN_ADMIN, SERVER_ADMIN, STRING
from .registry import operation, schema

NAMES = {"type": "array", "items": STRING}


schema("Group", {"name": STRING, "members": NAMES, "owns": NAMES})


def group_json(group: Group) -> dict:
    """A group: its members and the shared mailboxes it owns."""
    return {"name": group.name, "members": sorted(m.address for m in group.members),
            "owns": [s.address for s in groups.owned_by(db.session, group)]}


@operation("GET", "/groups", "admin", "Every group with its members", who=SERVER_ADMIN,
           answer="Group", many="all")
@server_admin_required
def group_list():
    return jsonify({"items": [group_json(row.group) for row in groups.list_groups(db.session)]})


@operation("POST", "/groups", "admin", "Add a group", body={"name": STRING}, required=("name",),
           who=SERVER_ADMIN, answer="Group")
@server_admin_required
def group_create():
    name = text(payload(), "name")
    return saved(lambda: groups.create_group(db.session, actor(), name), group_json, 201)


@operation("GET", "/groups/<name>", "admin", "One group", who=SERVER_ADMIN, answer="Group")
@owns("group")
def group_get(group: Group):
    return jsonify(group_json(group))


@operation("PATCH", "/groups/<name>", "admin", "Rename a group (its shared mailboxes' rights follow)",
           body={"name": STRING}, required=("name",), who=SERVER_ADMIN, answer="Group")
@owns("group")
def group_update(group: Group):
    new_name = text(payload(), "name")
    old = groups.rename_group(db.session, actor(), group, new_name)
    db.session.commit()
    shared.after_rename(config(), db.session, group, old)
    return jsonify(group_json(group))


@operation("DELETE", "/groups/<name>", "admin", "Remove a group that owns no shared mailbox",
           who=SERVER_ADMIN)
@owns("group")
def group_delete(group: Group):
    return saved(lambda: groups.delete_group(db.session, actor(), group))


@operation("POST", "/groups/<name>/members", "admin", "Add a member", body={"address": STRING},
           required=("address",), who=SERVER_ADMIN, answer="Group")
@owns("group")
def group_member_add(group: Group):
    member = groups.add_member(db.session, actor(), group, text(payload(), "address"))
    db.session.commit()
    shared.after_membership(config(), db.session, group, member.address)
    return jsonify(group_json(group)), 201


@operation("DELETE", "/groups/<name>/members/<member>", "admin", "Take a member out",
           who=SERVER_ADMIN)
@owns("group")
def group_member_remove(group: Group, member: str):
    groups.remove_member(db.session, actor(), group, member)
    db.session.commit()
    shared.after_membership(config(), db.session, group, member.strip().lower())
    return "", 204


schema("Shared", {"address": STRING, "domain": STRING, "display_name": STRING, "owners": NAMES})


def shared_json(mailbox: SharedMailbox) -> dict:
    """A group-owned shared mailbox."""
    return {"address": mailbox.address, "domain": mailbox.domain.name,
            "display_name": mailbox.display_name, "owners": shared.owner_names(mailbox)}


@operation("GET", "/shared", "admin", "Shared mailboxes of your domains", query=("domain",),
           who=ANY_ADMIN, answer="Shared", many="all")
@domain_filter
def shared_list():
    found = shared.list_shared(db.session, current_user.roles, wanted_domain())
    return jsonify({"items": [shared_json(m) for m in found]})


@operation("POST", "/shared", "admin", "Add a shared mailbox owned by groups",
           body={"address": STRING, "display_name": STRING, "owners": NAMES},
           required=("address", "owners"), who=DOMAIN_ADMIN, answer="Shared")
@domain_of_field("address", payload)
def shared_create():
    body = payload()
    mailbox = shared.create_shared(db.session, actor(), current_user.roles, text(body, "address"),
                                   text(body, "display_name"), strings(body, "owners"))
    db.session.commit()
    shared.after_create(config(), mailbox)
    return jsonify(shared_json(mailbox)), 201


@operation("GET", "/shared/<path:address>", "admin", "One shared mailbox", who=DOMAIN_ADMIN,
           answer="Shared")
@owns("shared", "mailbox")
def shared_get(mailbox: SharedMailbox):
    return jsonify(shared_json(mailbox))


@operation("PATCH", "/shared/<path:address>", "admin", "Rename it or change its owning groups",
           body={"display_name": STRING, "owners": NAMES}, who=DOMAIN_ADMIN, answer="Shared")
@owns("shared", "mailbox")
def shared_update(mailbox: SharedMailbox):
    body, now = payload(), shared_json(mailbox)
    owners = strings(body, "owners") if "owners" in body else now["owners"]
    former = shared.update_shared(db.session, actor(), current_user.roles, mailbox,
                                  text(body, "display_name", now["display_name"]), owners)
    db.session.commit()
    shared.after_update(config(), mailbox, former)
    return jsonify(shared_json(mailbox))


@operation("DELETE", "/shared/<path:address>", "admin",
           "Remove it; its mail moves to the archive, or is erased with ?erase_mail=yes",
           query=("erase_mail",), who=DOMAIN_ADMIN)
@owns("shared", "mailbox")
def shared_delete(mailbox: SharedMailbox):
    erase = request.args.get("erase_mail") == "yes"
    shared.revoke_access(config(), mailbox)
    try:
        shared.delete_shared(db.session, actor(), mailbox, erase,
                             mailstore.mail_home(config(), mailbox.address))
        db.session.commit()
    except ServiceError:
        db.session.rollback()
        shared.after_create(config(), mailbox)  # as the page: the owners get their rights back
        raise
    return "", 204


schema("Disclaimer", {"domain": STRING, "enabled": BOOLEAN, "markdown": STRING, "html": STRING})


def disclaimer_json(found: disclaimers.DisclaimerSettings) -> dict:
    """A domain's disclaimer: the Markdown, the HTML it becomes, and whether it is added."""
    return {"domain": found.domain, "enabled": found.enabled, "markdown": found.markdown,
            "html": found.html}


@operation("GET", "/disclaimers", "admin", "The disclaimers of your domains", who=ANY_ADMIN,
           answer="Disclaimer", many="all")
@admin_required
def disclaimer_list():
    found = disclaimers.list_disclaimers(db.session, current_user.roles)
    return jsonify({"items": [disclaimer_json(d) for d in found]})


@operation("GET", "/disclaimers/<name>", "admin", "One domain's disclaimer", who=DOMAIN_ADMIN,
           answer="Disclaimer")
@owns("domain")
def disclaimer_get(domain: Domain):
    return jsonify(disclaimer_json(disclaimers.get_disclaimer(db.session, domain.name)))


@operation("PATCH", "/disclaimers/<name>", "admin", "Change the text (Markdown) or switch it on or off",
           body={"enabled": BOOLEAN, "markdown": STRING}, who=DOMAIN_ADMIN, answer="Disclaimer")
@owns("domain")
def disclaimer_update(domain: Domain):
    body, now = payload(), disclaimer_json(disclaimers.get_disclaimer(db.session, domain.name))
    disclaimers.set_disclaimer(db.session, domain.name, flag(body, "enabled", now["enabled"]),
                               text(body, "markdown", now["markdown"]), actor=actor())
    db.session.commit()
    return jsonify(disclaimer_json(disclaimers.get_disclaimer(db.session, domain.name)))


def _setting_text(value) -> str:
    """A setting's JSON value as the settings form would send it."""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)


@operation("GET", "/server/settings", "admin", "The mail server's own settings", who=SERVER_ADMIN)
@server_admin_required
def server_settings_get():
    return jsonify(settings.current(db.session, config()).values())


@operation("PATCH", "/server/settings", "admin",
           "Check, store and apply settings (Postfix and Dovecot check and reload)",
           body={"message_size_mb": {"type": "integer"}, "queue_lifetime_days": {"type": "integer"},
                 "always_bcc": STRING, "helo_name": STRING, "relay_networks": NAMES,
                 "relay_trusted_networks": BOOLEAN, "auth_on_port_25": BOOLEAN,
                 "deleted_to_trash": BOOLEAN, "allow_unencrypted": BOOLEAN, "antivirus": BOOLEAN,
                 "master_user": BOOLEAN}, who=SERVER_ADMIN)
@server_admin_required
def server_settings_update():
    texts = {name: _setting_text(value) for name, value in payload().items()}
    outcome = settings.update(db.session, config(), texts, actor())
    return jsonify({"settings": settings.current(db.session, config()).values(),
                    "changed": sorted(outcome.changed), "pending": outcome.pending or "",
                    "reloaded": settings.reloaded(outcome.changed) if outcome.changed else []})
