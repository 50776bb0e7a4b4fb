"""`flask --app app ...` commands for scripting the server (part of the product's interface).

Every change goes through the same services as the admin pages, in one transaction,
and is written to the audit log as `cli:USER`. Passwords are read from standard input,
never from the command line; `--json` prints machine-readable output.
"""
from __future__ import annotations


import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from core.cli_common import ALL, actor, change, fail, read_password
from core.cli_output import emit, emit_rows, json_option
from core.cli_groups import alias_cli, group_cli, shared_cli
from core.db import Unusable, code_revisions, upgrade
from core.services.access import admin_roles, twofactor
from core.services.directory import archives, demo, domains, links, lookup, mailboxes
from core.services.personal import junk
from core.services.server import mailstore, migrate
from core.services.errors import ServiceError


db_cli = AppGroup("db", help="The app's database.")


@db_cli.command("upgrade")
@json_option
def db_upgrade(as_json: bool) -> None:
    """Create or upgrade the database schema to the newest migration."""
    url = current_app.config["DATABASE_URL"]
    try:
        upgrade(url)
    except Unusable as exc:
        fail(exc)
    emit(as_json, {"revision": code_revisions(url)[-1]}, "Database is up to date.")


@db_cli.command("migrate-to")
@click.argument("url")
@json_option
def db_migrate_to(url: str, as_json: bool) -> None:
    """Copy this SQLite database into the empty PostgreSQL database at URL (`local`: the
    stack's own, MAILROOM_DATABASE=postgresql)."""
    local = url == migrate.LOCAL
    try:
        target = migrate.local_target(dict(current_app.config)) if local else url
        done = migrate.migrate_to(current_app.config["DATABASE_URL"], target)
    except ServiceError as exc:
        fail(exc)
    counts = "\n".join(f"  {table:<28} {count}" for table, count in done.counts.items())
    emit(as_json, {"revision": done.revision, "counts": done.counts, "seconds": round(done.seconds, 3)},
         f"Copied schema {done.revision} in {done.seconds:.2f} s; rows per table, the same in both:\n"
         f"{counts}\n{migrate.switch_steps(target, local)}")


domain_cli = AppGroup("domain", help="Mail domains.")


def domain_data(domain) -> dict:
    """A domain as the --json output shows it."""
    return {"domain": domain.name, "mode": domain.mode, "relay": domains.relay_text(domain),
            "bcc": domain.bcc_address, "catch_all": domain.catchall_address,
            "require_two_factor": domain.require_two_factor}


@domain_cli.command("add")
@click.argument("name")
@json_option
def domain_add(name: str, as_json: bool) -> None:
    """Add a domain whose mail is delivered to local mailboxes."""
    data = change(lambda s: domain_data(domains.create_domain(s, actor(), name)))
    emit(as_json, data, f"Added domain {data['domain']}.")


@domain_cli.command("set")
@click.argument("name")
@click.option("--relay", metavar="HOST[:PORT]",
              help="Relay the domain's mail to this server (the port defaults to 25).")
@click.option("--local", "deliver", is_flag=True, help="Deliver to mailboxes here (no relay).")
@click.option("--bcc", metavar="ADDRESS", help="Always send a copy of its mail here ('' for none).")
@click.option("--catch-all", "catch_all", metavar="DESTINATION",
              help="Take mail for unknown addresses into this mailbox ('' to refuse it).")
@click.option("--add-admin", multiple=True, metavar="ADDRESS", help="Make a mailbox domain admin.")
@click.option("--remove-admin", multiple=True, metavar="ADDRESS", help="Remove a domain admin.")
@click.option("--require-two-factor/--no-require-two-factor", "two_factor", default=None,
              help="Require two-factor sign-in of the domain's people, or leave it to each.")
@json_option
def domain_set(name, relay, deliver, bcc, catch_all, add_admin, remove_admin, two_factor, as_json) -> None:
    """Change a domain's delivery, relay host, always-Bcc, catch-all, admins or 2FA requirement."""
    if relay and deliver:
        fail(click.UsageError("Use either --relay or --local."))

    def work(session):
        domain = lookup.get_domain(session, name)
        mode = "relay" if relay else "deliver" if deliver else domain.mode
        domains.update_domain(
            session, actor(), domain, mode=mode,
            relay=relay if relay is not None else domains.relay_text(domain) or "",
            bcc=bcc if bcc is not None else domain.bcc_address or "",
            catch_all=catch_all if catch_all is not None else domain.catchall_address or "")
        for address in add_admin:
            admin_roles.add_domain_admin(session, actor(), domain, address)
        for address in remove_admin:
            admin_roles.remove_domain_admin(session, actor(), domain, address)
        if two_factor is not None:
            domains.require_two_factor(session, actor(), domain, two_factor)
        return {**domain_data(domain), "admins": admin_roles.admins_of(session, domain)}

    data = change(work)
    emit(as_json, data, f"Saved domain {data['domain']}.")


@domain_cli.command("list")
@json_option
def domain_list(as_json: bool) -> None:
    """List the domains with their settings and counts."""
    def work(session):
        return [{**domain_data(r.domain), "mailboxes": r.mailboxes, "aliases": r.aliases,
                 "shared": r.shared} for r in domains.list_domains(session, ALL)]

    emit_rows(as_json, change(work), lambda r: (
        f"{r['domain']:<30} {r['mode']:<8} {r['relay'] or '':<24} mailboxes {r['mailboxes']}"),
        "No domains.")


@domain_cli.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, required=True,
              help="Confirm: its mailboxes, aliases and shared mailboxes leave the directory.")
@json_option
def domain_remove(name: str, yes: bool, as_json: bool) -> None:
    """Remove a domain from the directory; its stored mail moves to the archive."""
    def work(session):
        found = domains.delete_domain(session, actor(), lookup.get_domain(session, name),
                                      mailstore.mail_root(current_app.config))
        return {"domain": name, **found.__dict__}

    data = change(work)
    emit(as_json, data, f"Removed {name} ({len(data['mailboxes'])} mailboxes); "
                        "its stored mail is still on disk.")


mailbox_cli = AppGroup("mailbox", help="User mailboxes.")


def mailbox_data(mailbox) -> dict:
    """A mailbox as the --json output shows it."""
    return {"address": mailbox.address, **mailboxes.snapshot(mailbox)}


@mailbox_cli.command("add")
@click.argument("address")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input (never from the command line).")
@click.option("--link", is_flag=True, help="No password: print a one-time set-password link path.")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--quota", metavar="SIZE", default="", help="Quota such as 500M or 2G.")
@json_option
def mailbox_add(address, password_stdin, link, display_name, quota, as_json) -> None:
    """Add a mailbox; its password is read from standard input, or a link is made."""
    if password_stdin == link:
        fail(click.UsageError("Give exactly one of --password-stdin and --link."))
    password = read_password() if password_stdin else None

    def work(session):
        created = mailboxes.create_mailbox(session, actor(), address, display_name, password,
                                           mailboxes.parse_size_mb(quota))
        data = mailbox_data(created.mailbox)
        if created.link_token:
            data["link_path"] = f"/set-password/{created.link_token}"
        return data

    data = change(work)
    extra = f"\nSet-password link (append to the app's URL): {data['link_path']}" \
        if "link_path" in data else ""
    emit(as_json, data, f"Added mailbox {data['address']}.{extra}")


UNCHANGED = object()


def _optional(text: str | None, parse):
    """UNCHANGED for an option not given; else the parsed value (None for 'default')."""
    return UNCHANGED if text is None else parse("" if text.lower() == "default" else text)


@mailbox_cli.command("set")
@click.argument("address")
@click.option("--name", "display_name", help="Display name.")
@click.option("--enable/--disable", "enabled", default=None,
              help="Allow or refuse IMAP, POP3 and SMTP login (mail is delivered either way).")
@click.option("--quota", metavar="SIZE", help="Quota such as 500M or 2G, or 'default'.")
@click.option("--junk-days", metavar="N", help="Days before Junk is deleted (0 keeps), or 'default'.")
@click.option("--forward", metavar="ADDRESS", help="Forward all mail here ('' stops forwarding).")
@click.option("--keep-copy/--no-keep-copy", default=None, help="Keep a copy when forwarding.")
@click.option("--password-stdin", is_flag=True, help="Read a new password from standard input.")
@click.option("--server-admin/--no-server-admin", default=None, help="Grant or drop the server admin role.")
@click.option("--imap/--no-imap", default=None,
              help="Allow or refuse IMAP logins (the webmail and portal sign in over IMAP too).")
@click.option("--pop3/--no-pop3", default=None, help="Allow or refuse POP3 logins.")
@click.option("--reset-two-factor", is_flag=True,
              help="Turn its two-factor sign-in off (the owner lost the phone and the recovery codes).")
@json_option
def mailbox_set(address, display_name, enabled, quota, junk_days, forward, keep_copy,
                password_stdin, server_admin, imap, pop3, reset_two_factor, as_json) -> None:
    """Change a mailbox: access, protocols, quota, Junk retention, forwarding, password, role."""
    password = read_password() if password_stdin else None

    def work(session):
        mailbox = lookup.get_mailbox(session, address)
        quota_mb = _optional(quota, mailboxes.parse_size_mb)
        days = _optional(junk_days, mailboxes.parse_days)
        mailboxes.update_mailbox(
            session, actor(), mailbox,
            display_name=mailbox.display_name if display_name is None else display_name,
            enabled=mailbox.enabled if enabled is None else enabled,
            quota_mb=mailbox.quota_mb if quota_mb is UNCHANGED else quota_mb,
            junk_days=mailbox.junk_days if days is UNCHANGED else days,
            forward_address=(mailbox.forward_address or "") if forward is None else forward,
            forward_keep_copy=mailbox.forward_keep_copy if keep_copy is None else keep_copy)
        if password is not None:
            mailboxes.set_password(session, actor(), mailbox, password)
        if server_admin is not None:
            admin_roles.set_server_admin(session, actor(), mailbox, server_admin)
        protocol_off.append(mailboxes.set_protocols(session, actor(), mailbox, imap=imap, pop3=pop3))
        if reset_two_factor:
            twofactor.reset(session, actor(), mailbox)
        return {**mailbox_data(mailbox),
                "server_admin": admin_roles.is_server_admin(session, mailbox)}

    protocol_off: list[bool] = []  # set by WORK: open sessions on a refused protocol end
    data = change(work)
    if any(protocol_off) or enabled is False or password is not None:
        mailstore.kick(current_app.config, data["address"])
    emit(as_json, data, f"Saved mailbox {data['address']}.")


@mailbox_cli.command("list")
@click.option("--domain", default="", help="Only this domain.")
@json_option
def mailbox_list(domain: str, as_json: bool) -> None:
    """List mailboxes with their settings."""
    rows = change(lambda s: [mailbox_data(m) for m in mailboxes.list_mailboxes(
        s, ALL, lookup.valid_domain_name(domain) if domain else "")])
    emit_rows(as_json, rows, lambda r: (
        f"{r['address']:<40} {'enabled' if r['enabled'] else 'DISABLED':<9} "
        f"quota {r['quota_mb'] or 'default'}"), "No mailboxes.")


@mailbox_cli.command("remove")
@click.argument("address")
@click.option("--erase-mail", is_flag=True,
              help="Erase its stored mail (a queued job); without it the mail moves to the archive.")
@json_option
def mailbox_remove(address: str, erase_mail: bool, as_json: bool) -> None:
    """Remove a mailbox from the directory; its mail is archived, or erased with --erase-mail."""
    def work(session):
        mailbox = lookup.get_mailbox(session, address)
        home = mailstore.mail_home(current_app.config, mailbox.address)
        job = mailboxes.delete_mailbox(session, actor(), mailbox, erase_mail, home)
        return {"address": mailbox.address, "job": job.id, "mail": "erase" if erase_mail else "archive"}

    data = change(work)
    mailstore.kick(current_app.config, data["address"])
    emit(as_json, data, f"Removed {data['address']}; its mail is being " + (
        "erased" if erase_mail else "moved to the archive (`mailbox archives` lists it)")
        + f" (job {data['job']}).")


@mailbox_cli.command("archives")
@json_option
def mailbox_archives(as_json: bool) -> None:
    """List the archived mail of deleted mailboxes (only root can reach it)."""
    rows = [{"address": a.address, "name": a.name, "archived": a.archived, "path": str(a.path)}
            for a in archives.archives(current_app.config)]
    emit_rows(as_json, rows, lambda r: f"{r['address']:<32} {r['name']}", "No archives.")


@mailbox_cli.command("restore")
@click.argument("address")
@click.argument("name")
@json_option
def mailbox_restore(address: str, name: str, as_json: bool) -> None:
    """Move archive NAME back as the mail of ADDRESS (a mailbox that has no mail yet)."""
    home = change(lambda s: archives.restore_archive(s, current_app.config, address, name))
    emit(as_json, {"address": address, "name": name, "mail": str(home)},
         f"Restored {name} as the mail of {address}.")


@mailbox_cli.command("link")
@click.argument("address")
@json_option
def mailbox_link(address: str, as_json: bool) -> None:
    """Print a new one-time set-password link path (earlier links stop working)."""
    token = change(lambda s: links.new_link(s, actor(), lookup.get_mailbox(s, address)))
    emit(as_json, {"address": address, "link_path": f"/set-password/{token}"},
         f"Set-password link (append to the app's URL): /set-password/{token}")


@click.command("demo")
@with_appcontext
@json_option
def demo_command(as_json: bool) -> None:
    """Create the demo domain and logins once, and print the logins."""
    try:
        logins = demo.ensure_demo(current_app.config)
    except ServiceError as exc:
        fail(exc)
    where = str(demo.logins_file(current_app.config))
    emit(as_json, {"logins": logins, "file": where},
         "\n".join(f"  {l['role']:<6} {l['address']:<24} password: {l['password']}"
                   for l in logins) + f"\n(kept in {where})")


junk_cli = AppGroup("junk", help="The server's Junk folder policy.")


@junk_cli.command("default")
@click.argument("days", type=int, required=False)
@json_option
def junk_default(days: int | None, as_json: bool) -> None:
    """Show or set how many days Junk keeps mail (0: keep); mailboxes may override it."""
    if days is None:
        days = change(junk.server_days)
    else:
        days = change(lambda session: junk.set_server_days(session, days))
    emit(as_json, {"junk_days": days},
         f"Junk is emptied after {days} days." if days else "Junk is kept.")


commands = (db_cli, domain_cli, mailbox_cli, group_cli, shared_cli, alias_cli, junk_cli,
            demo_command)
