"""Dovecot's and Postfix's LDAP lookups of directory users (MAILROOM_ACCOUNT_PROVIDER=ldap).

The filters come from the schema preset (core/ldapdir/presets.py); `render.outputs`
adds the files of templates/dovecot/directory and templates/postfix/ldap only while the
provider is ldap, and main.cf lists the LDAP tables after the database's own.
"""
from __future__ import annotations

from core.config import ldap_bind_password, ldap_url, uses_ldap
from core.ldapdir.presets import SchemaError, schema_from_config

from . import directory_groups
from .errors import StackError
from .layout import Layout

POSTFIX_TABLES = ("users", "aliases", "senders")


def table(layout: Layout, name: str) -> str:
    """The lookup table NAME (one of POSTFIX_TABLES) as main.cf names it."""
    return f"ldap:{layout.postfix_etc / 'maps' / f'ldap_{name}.cf'}"


def template_values(cfg: dict, layout: Layout) -> dict:
    """The LDAP values of the templates; main.cf's additions are '' without LDAP."""
    values = {"directory_conf": layout.dovecot_etc / "directory-ldap.conf",
              "ldap_conf": layout.dovecot_etc / "dovecot-ldap.conf.ext",
              "directory_sql_conf": layout.dovecot_etc / "dovecot-directory-sql.conf.ext",
              "ldap_twofactor_conf": layout.dovecot_etc / "dovecot-twofactor.conf.ext",
              "directory_groups": directory_groups.groups_file(layout),  # Dovecot, learnd.conf
              "ldap_mailbox_maps": "", "ldap_alias_maps": "", "ldap_sender_maps": ""}
    if not uses_ldap(cfg):
        return values
    try:
        schema = schema_from_config(cfg)
    except SchemaError as exc:
        raise StackError(str(exc)) from exc
    url = ldap_url(cfg)
    if not url.startswith(("ldap://", "ldaps://")) or not cfg["LDAP_USER_BASE"]:
        raise StackError("MAILROOM_ACCOUNT_PROVIDER=ldap needs MAILROOM_LDAP_URL (ldap://HOST or "
                         "ldaps://HOST) and MAILROOM_LDAP_USER_BASE")
    starttls = url.startswith("ldap://") and cfg["LDAP_TLS"] == "starttls"
    return {
        **values,
        "ldap_mailbox_maps": f", {table(layout, 'users')}",
        "ldap_alias_maps": f", {table(layout, 'users')}, {table(layout, 'aliases')}",
        "ldap_sender_maps": f", {table(layout, 'senders')}",
        "ldap_url": url, "ldap_bind_dn": cfg["LDAP_BIND_DN"], "ldap_bind_password": bind_password(cfg),
        "ldap_user_base": cfg["LDAP_USER_BASE"],
        "ldap_dovecot_tls": "yes" if starttls else "no", "ldap_postfix_tls": "yes" if starttls else "no",
        "ldap_mail_attr": schema.mail_attr, "ldap_id_attr": schema.id_attr,
        "ldap_home_root": layout.mail / "directory",
        # Dovecot's %u and Postfix's %s: each daemon escapes the value for the filter.
        "ldap_pass_filter": schema.enabled_by_mail("%u"), "ldap_user_filter": schema.user_by_mail("%u"),
        "ldap_iterate_filter": schema.users,
        "ldap_users_query": schema.user_by_mail("%s"), "ldap_aliases_query": schema.user_by_alias("%s"),
        "ldap_senders_query": schema.user_by_any("%s"),
    }


def bind_password(cfg: dict) -> str:
    """MAILROOM_LDAP_BIND_PASSWORD, or its default file (the local directory's generated one)."""
    value = ldap_bind_password(cfg)
    if not value:
        raise StackError("MAILROOM_LDAP_BIND_PASSWORD (or MAILROOM_LDAP_BIND_PASSWORD_FILE) is not set")
    return value
