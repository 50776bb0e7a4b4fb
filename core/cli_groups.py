"""`flask --app app group|shared|alias ...`: groups, shared mailboxes and aliases (see core/cli.py)."""
from __future__ import annotations

from dataclasses import asdict

import click
from flask import current_app
from flask.cli import AppGroup

from core.cli_common import ALL, actor, change, fail
from core.cli_output import emit, emit_rows, json_option
from core.mail.errors import MailError
from core.services.directory import aliases, groups, lookup, shared
from core.services.server import mailstore

group_cli = AppGroup("group", help="Groups of mailboxes (owners of shared mailboxes; spamtrainers).")


@group_cli.command("add")
@click.argument("name")
@json_option
def group_add(name: str, as_json: bool) -> None:
    """Create an empty group."""
    data = change(lambda s: groups.snapshot(groups.create_group(s, actor(), name)))
    emit(as_json, data, f"Added group {data['name']}.")


@group_cli.command("list")
@json_option
def group_list(as_json: bool) -> None:
    """List groups with their members and the shared mailboxes they own."""
    rows = change(lambda s: [{**groups.snapshot(r.group), "owns": r.owns}
                             for r in groups.list_groups(s)])
    emit_rows(as_json, rows, lambda r: f"{r['name']:<24} members: {', '.join(r['members']) or '-'}",
              "No groups.")


@group_cli.command("rename")
@click.argument("name")
@click.argument("new_name")
@json_option
def group_rename(name: str, new_name: str, as_json: bool) -> None:
    """Rename a group (the shared mailboxes it owns keep it as owner)."""
    def work(session):
        group = groups.get_group(session, name)
        return groups.rename_group(session, actor(), group, new_name), group.name

    old, new = change(work)
    change(lambda s: shared.after_rename(current_app.config, s, groups.get_group(s, new), old))
    emit(as_json, {"name": new, "was": old}, f"Renamed group {old} to {new}.")


@group_cli.command("remove")
@click.argument("name")
@json_option
def group_remove(name: str, as_json: bool) -> None:
    """Delete a group (refused while it owns a shared mailbox)."""
    change(lambda s: groups.delete_group(s, actor(), groups.get_group(s, name)))
    emit(as_json, {"removed": name}, f"Removed group {name}.")


member_cli = AppGroup("member", help="Members of a group.")
group_cli.add_command(member_cli)


def _membership(step, group: str, address: str) -> dict:
    """Run STEP (add_member or remove_member), then subscribe or unsubscribe the member."""
    def work(session):
        found = groups.get_group(session, group)
        step(session, actor(), found, address)
        return groups.snapshot(found)

    data = change(work)
    change(lambda s: shared.after_membership(current_app.config, s, groups.get_group(s, group),
                                             lookup.valid_address(address)))
    return data


@member_cli.command("add")
@click.argument("group")
@click.argument("address")
@json_option
def member_add(group: str, address: str, as_json: bool) -> None:
    """Add a mailbox to a group."""
    data = _membership(groups.add_member, group, address)
    emit(as_json, data, f"Added {lookup.valid_address(address)} to {data['name']}.")


@member_cli.command("remove")
@click.argument("group")
@click.argument("address")
@json_option
def member_remove(group: str, address: str, as_json: bool) -> None:
    """Take a mailbox out of a group."""
    data = _membership(groups.remove_member, group, address)
    emit(as_json, data, f"Removed {lookup.valid_address(address)} from {data['name']}.")


shared_cli = AppGroup("shared", help="Shared mailboxes owned by groups.")


DIRECTORY_OWNER = click.option(
    "--directory-owner", "directory_owners", multiple=True, metavar="GROUP",
    help="An owning group of the directory (MAILROOM_ACCOUNT_PROVIDER=ldap; repeat for several).")


@shared_cli.command("add")
@click.argument("address")
@click.option("--owner", "owners", multiple=True, metavar="GROUP",
              help="An owning group (repeat for several); its members get full rights.")
@DIRECTORY_OWNER
@click.option("--name", "display_name", default="", help="Display name.")
@json_option
def shared_add(address: str, owners: tuple[str, ...], directory_owners: tuple[str, ...],
               display_name: str, as_json: bool) -> None:
    """Create a shared mailbox and give its owners' members full IMAP rights."""
    data = change(lambda s: shared.snapshot(shared.create_shared(
        s, actor(), ALL, address, display_name, list(owners), list(directory_owners), current_app.config)))
    change(lambda s: shared.after_create(current_app.config, shared.get_shared(s, data["address"])))
    named = data["owners"] + [f"{n} (directory)" for n in data["directory_owners"]]
    emit(as_json, data, f"Added shared mailbox {data['address']} owned by {', '.join(named)}.")


@shared_cli.command("set")
@click.argument("address")
@click.option("--owner", "owners", multiple=True, metavar="GROUP",
              help="The owning groups (replace the current ones; repeat for several).")
@DIRECTORY_OWNER
@click.option("--name", "display_name", default=None, help="Display name.")
@json_option
def shared_set(address: str, owners: tuple[str, ...], directory_owners: tuple[str, ...],
               display_name: str | None, as_json: bool) -> None:
    """Change a shared mailbox's name or owners (each kind given replaces the current ones)."""
    def work(session):
        found = shared.get_shared(session, address)
        former = shared.update_shared(
            session, actor(), ALL, found,
            found.display_name if display_name is None else display_name,
            list(owners) or shared.owner_names(found), list(directory_owners) or None, current_app.config)
        return shared.snapshot(found), former

    data, former = change(work)
    change(lambda s: shared.after_update(current_app.config, shared.get_shared(s, address), former))
    emit(as_json, data, f"Saved shared mailbox {data['address']}.")


@shared_cli.command("list")
@json_option
def shared_list(as_json: bool) -> None:
    """List shared mailboxes and their owning groups."""
    rows = change(lambda s: [shared.snapshot(m) for m in shared.list_shared(s, ALL)])
    emit_rows(as_json, rows, lambda r: f"{r['address']:<40} owners: "
              f"{', '.join(r['owners'] + [n + ' (directory)' for n in r['directory_owners']])}",
              "No shared mailboxes.")


@shared_cli.command("remove")
@click.argument("address")
@click.option("--erase-mail", is_flag=True, help="Also erase its stored mail (a queued job).")
@json_option
def shared_remove(address: str, erase_mail: bool, as_json: bool) -> None:
    """Remove a shared mailbox; its mail is archived, or erased with --erase-mail."""
    cfg = current_app.config

    def work(session):
        found = shared.get_shared(session, address)
        shared.revoke_access(cfg, found)
        home = mailstore.mail_home(cfg, found.address)
        job = shared.delete_shared(session, actor(), found, erase_mail, home)
        return {"address": found.address, "job": job.id, "mail": "erase" if erase_mail else "archive"}

    data = change(work)
    emit(as_json, data, f"Removed shared mailbox {data['address']}; its mail is being "
         f"{'erased' if erase_mail else 'moved to the archive'} (job {data['job']}).")


@shared_cli.command("reconcile")
@json_option
def shared_reconcile(as_json: bool) -> None:
    """Make Dovecot's ACLs of every shared mailbox match its owners (the worker does it
    every five minutes); print what was repaired."""
    try:
        rows = change(lambda s: [asdict(r) for r in shared.reconcile_access(current_app.config, s, actor())])
    except MailError as exc:  # Dovecot or the worker not answering
        fail(exc)
    emit_rows(as_json, rows, lambda r: (f"{r['address']} {r['folder']}: was "
                                        f"{'; '.join(r['found']) or 'empty'}, now its owners' rights"),
              "Every shared mailbox's ACLs match its owners.")


alias_cli = AppGroup("alias", help="Aliases.")


def alias_data(alias) -> dict:
    """An alias as the --json output shows it."""
    return {"alias": alias.address, "local_only": alias.local_only,
            "destinations": [d.target for d in alias.destinations],
            "kinds": [d.kind for d in alias.destinations]}


@alias_cli.command("add")
@click.argument("address")
@click.argument("destinations", nargs=-1, required=True)
@click.option("--local-only", is_flag=True,
              help="Accept mail only from this server's users and trusted networks.")
@json_option
def alias_add(address: str, destinations: tuple[str, ...], local_only: bool, as_json: bool) -> None:
    """Add an alias (local@domain, or local@* for every domain) to one or more destinations."""
    data = change(lambda s: alias_data(
        aliases.create_alias(s, actor(), address, list(destinations), local_only)))
    emit(as_json, data, f"Added alias {data['alias']} -> {', '.join(data['destinations'])}.")


@alias_cli.command("list")
@click.option("--domain", default="", help="Only this domain ('*' for aliases on every domain).")
@json_option
def alias_list(domain: str, as_json: bool) -> None:
    """List aliases and their destinations."""
    def work(session):
        wanted = domain if domain in ("", aliases.EVERY_DOMAIN) else \
            lookup.valid_domain_name(domain)
        return [alias_data(a) for a in aliases.list_aliases(session, ALL, wanted)]

    emit_rows(as_json, change(work), lambda r: (
        f"{r['alias']:<36} -> {', '.join(r['destinations'])}{' (local only)' if r['local_only'] else ''}"),
        "No aliases.")


@alias_cli.command("remove")
@click.argument("address")
@json_option
def alias_remove(address: str, as_json: bool) -> None:
    """Remove an alias."""
    def work(session):
        alias = aliases.find_alias(session, address)
        shown = alias.address
        aliases.delete_alias(session, actor(), alias)
        return shown

    shown = change(work)
    emit(as_json, {"removed": shown}, f"Removed alias {shown}.")
