"""The directory schema presets and their overrides (core/ldapdir/presets.py), and the
daemons' lookups rendered from them (stack/ldap_maps.py)."""
from __future__ import annotations

import pytest

from core.config import load_config, uses_ldap
from core.ldapdir.presets import ACTIVE_DIRECTORY, OPENLDAP, SchemaError, schema_from_config
from stack import ldap_maps, render
from stack.errors import StackError
from stack.layout import Layout


def test_openldap_is_the_default_preset():
    schema = schema_from_config({})
    assert schema == OPENLDAP
    assert schema.enabled_by_mail("%u") == (
        "(&(objectClass=inetOrgPerson)(mail=%u)(!(pwdAccountLockedTime=*)))")
    assert schema.user_by_alias("%s") == "(&(objectClass=inetOrgPerson)(mailLocalAddress=%s))"


@pytest.mark.parametrize("name", ["ad", "samba-ad"])
def test_active_directory_presets_use_account_control_and_proxy_addresses(name):
    schema = schema_from_config({"LDAP_SCHEMA": name})
    assert schema == ACTIVE_DIRECTORY
    assert "(!(userAccountControl:1.2.840.113556.1.4.803:=2))" in schema.enabled_by_mail("%u")
    assert schema.user_by_any("%s").endswith("(|(mail=%s)(proxyAddresses=smtp:%s)))")


def test_a_setting_overrides_one_field_of_the_preset():
    schema = schema_from_config({"LDAP_SCHEMA": "ad", "LDAP_MAIL_ATTR": "userPrincipalName",
                                 "LDAP_DISABLED_FILTER": "(description=gone)"})
    assert schema.mail_attr == "userPrincipalName" and schema.disabled_filter == "(description=gone)"
    assert schema.user_filter == ACTIVE_DIRECTORY.user_filter


@pytest.mark.parametrize(("key", "value", "message"), [
    ("LDAP_SCHEMA", "novell", "must be one of openldap, samba-ad, ad"),
    ("LDAP_USER_FILTER", "objectClass=person", "one filter in parentheses"),
    ("LDAP_USER_FILTER", "(a=b)(c=d)", "one filter in parentheses"),
    ("LDAP_USER_FILTER", "(&(a=b)", "one filter in parentheses"),
    ("LDAP_USER_FILTER", "(uid=%u)", "may not contain %"),
    ("LDAP_GROUP_FILTER", "(cn=$x)", "may not contain %"),
    ("LDAP_ALIAS_FILTER", "(mailAlias=x)", "{address}"),
    ("LDAP_MAIL_ATTR", "mail)(uid=*", "not an attribute name"),
])
def test_bad_settings_are_refused_by_name(key, value, message):
    with pytest.raises(SchemaError) as caught:
        schema_from_config({key: value})
    assert message in str(caught.value) and f"MAILROOM_{key}" in str(caught.value)


def _cfg(**settings) -> dict:
    return load_config({"DATA_DIR": "/tmp/mailroom-unit-ldap", "ACCOUNT_PROVIDER": "ldap",
                        "LDAP_URL": "ldap://dc1.corp.test", "LDAP_BIND_DN": "cn=svc,dc=corp,dc=test",
                        "LDAP_BIND_PASSWORD": "bind-secret", "LDAP_USER_BASE": "ou=people,dc=corp,dc=test",
                        **settings}, environ={})


def test_daemons_lookups_follow_the_preset_and_tls_setting():
    cfg = _cfg(LDAP_SCHEMA="ad")
    values = ldap_maps.template_values(cfg, Layout.from_config(cfg))
    assert values["ldap_users_query"] == "(&(&(objectCategory=person)(objectClass=user))(mail=%s))"
    assert (values["ldap_dovecot_tls"], values["ldap_postfix_tls"]) == ("yes", "yes")
    assert values["ldap_mailbox_maps"].startswith(", ldap:/")
    plain = _cfg(LDAP_URL="ldaps://dc1.corp.test")
    assert ldap_maps.template_values(plain, Layout.from_config(plain))["ldap_postfix_tls"] == "no"


def test_without_ldap_no_lookup_is_rendered_or_listed():
    cfg = load_config({"DATA_DIR": "/tmp/mailroom-unit-ldap"}, environ={})
    values = ldap_maps.template_values(cfg, Layout.from_config(cfg))
    assert (values["ldap_mailbox_maps"], values["ldap_alias_maps"], values["ldap_sender_maps"]) == ("", "", "")
    names = [out.template for out in render.outputs(Layout.from_config(cfg), uses_ldap(cfg))]
    assert not [name for name in names if "ldap" in name or "directory" in name]


def test_ldap_without_a_url_or_base_is_refused():
    cfg = _cfg(LDAP_URL="")
    with pytest.raises(StackError, match="MAILROOM_LDAP_URL"):
        ldap_maps.template_values(cfg, Layout.from_config(cfg))


def test_rendered_postfix_table_carries_the_connection_and_the_query():
    cfg = _cfg()
    layout = Layout.from_config(cfg)
    out = next(o for o in render.outputs(layout, True) if o.template == "postfix/ldap/aliases.cf")
    values = {**ldap_maps.template_values(cfg, layout), "sql_driver": "sqlite", "maps": layout.postfix_etc / "maps"}
    text = render.render_text(render.template_text(out, "sqlite"), values, out.syntax)
    assert "server_host = ldap://dc1.corp.test\n" in text and "start_tls = yes\n" in text
    assert "query_filter = (&(objectClass=inetOrgPerson)(mailLocalAddress=%s))\n" in text
    assert f"domain = sqlite:{layout.postfix_etc}/maps/virtual_mailbox_domains.cf\n" in text
