"""The directory schemas Mailroom knows (MAILROOM_LDAP_SCHEMA) and their overrides.

A preset names the filters and attributes that find mail users and groups. The same
`Schema` renders Dovecot's and Postfix's LDAP lookups (stack/ldap_maps.py) and the
app's own searches (core/ldapdir/client.py), so the daemons and the app see the same users.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

ADDRESS = "{address}"  # where a filter names the looked-up address
ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
# Rendered into config files where `%` is a daemon's variable and `$` a setting's name;
# a filter never needs either.
UNSAFE = re.compile(r"[%$\x00-\x1f\x7f]")


class SchemaError(ValueError):
    """A filter or attribute of the directory settings cannot be used; says which."""


@dataclass(frozen=True)
class Schema:
    """Which entries are mail users and groups, and which attributes say what."""

    user_filter: str  # every mail user, enabled or not
    disabled_filter: str  # the users that may not sign in (their mail is still delivered)
    alias_filter: str  # a user with the extra address {address}
    group_filter: str
    mail_attr: str  # the user's address: their sign-in name and mailbox
    id_attr: str  # stable across renames: names the user's mail folder
    name_attr: str
    member_attr: str  # on a group: the members' DNs

    def user_by_mail(self, address: str) -> str:
        """The filter of the user whose address is ADDRESS (already escaped or a daemon's %-variable)."""
        return f"(&{self.user_filter}({self.mail_attr}={address}))"

    def enabled_by_mail(self, address: str) -> str:
        """The filter of that user only while they may sign in."""
        return f"(&{self.user_filter}({self.mail_attr}={address})(!{self.disabled_filter}))"

    def user_by_alias(self, address: str) -> str:
        """The filter of the user who has ADDRESS as an extra address."""
        return f"(&{self.user_filter}{self.alias_filter.replace(ADDRESS, address)})"

    def user_by_any(self, address: str) -> str:
        """The filter of the user whose address or extra address is ADDRESS."""
        alias = self.alias_filter.replace(ADDRESS, address)
        return f"(&{self.user_filter}(|({self.mail_attr}={address}){alias}))"

    @property
    def users(self) -> str:
        """Every user that has an address."""
        return f"(&{self.user_filter}({self.mail_attr}=*))"


OPENLDAP = Schema(
    user_filter="(objectClass=inetOrgPerson)",
    # The ppolicy overlay's lock: "000001010000Z" locks the account for good.
    disabled_filter="(pwdAccountLockedTime=*)",
    # inetLocalMailRecipient (misc.schema): the RFC-draft attribute for extra addresses.
    alias_filter=f"(mailLocalAddress={ADDRESS})",
    group_filter="(objectClass=groupOfNames)",
    mail_attr="mail", id_attr="entryUUID", name_attr="cn", member_attr="member",
)
ACTIVE_DIRECTORY = Schema(
    user_filter="(&(objectCategory=person)(objectClass=user))",
    # userAccountControl bit 2 (ACCOUNTDISABLE), matched with the bitwise-AND rule.
    disabled_filter="(userAccountControl:1.2.840.113556.1.4.803:=2)",
    # Exchange's proxyAddresses: "smtp:" marks a secondary address ("SMTP:" the primary;
    # the match is case-insensitive).
    alias_filter=f"(proxyAddresses=smtp:{ADDRESS})",
    group_filter="(objectClass=group)",
    mail_attr="mail", id_attr="objectGUID", name_attr="displayName", member_attr="member",
)
# Samba's AD DC serves Active Directory's schema: the same filters and attributes.
PRESETS = {"openldap": OPENLDAP, "samba-ad": ACTIVE_DIRECTORY, "ad": ACTIVE_DIRECTORY}
FILTER_FIELDS = ("user_filter", "disabled_filter", "alias_filter", "group_filter")


def schema_from_config(cfg: dict) -> Schema:
    """The preset of MAILROOM_LDAP_SCHEMA with each non-empty MAILROOM_LDAP_<FIELD> instead.

    >>> schema_from_config({"LDAP_SCHEMA": "ad", "LDAP_MAIL_ATTR": "userPrincipalName"}).mail_attr
    'userPrincipalName'
    """
    name = str(cfg.get("LDAP_SCHEMA") or "openldap")
    if name not in PRESETS:
        raise SchemaError(f"MAILROOM_LDAP_SCHEMA must be one of {', '.join(PRESETS)}, not {name!r}")
    changes = {f.name: str(cfg[f"LDAP_{f.name.upper()}"]) for f in fields(Schema)
               if cfg.get(f"LDAP_{f.name.upper()}")}
    schema = replace(PRESETS[name], **changes)
    for key in FILTER_FIELDS:
        check_filter(f"MAILROOM_LDAP_{key.upper()}", getattr(schema, key))
    if ADDRESS not in schema.alias_filter:
        raise SchemaError(f"MAILROOM_LDAP_ALIAS_FILTER must name the address as {ADDRESS}")
    for f in fields(Schema):
        if f.name not in FILTER_FIELDS and not ATTRIBUTE.match(getattr(schema, f.name)):
            raise SchemaError(f"MAILROOM_LDAP_{f.name.upper()} is not an attribute name: "
                              f"{getattr(schema, f.name)!r}")
    return schema


def check_filter(key: str, text: str) -> None:
    """Refuse a filter that is not one parenthesised, balanced RFC 4515 expression."""
    if UNSAFE.search(text):
        raise SchemaError(f"{key} may not contain %, $ or control characters: {text!r}")
    depth = 0
    for position, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0 or (depth == 0 and position < len(text) - 1):
            break
    else:
        if text.startswith("(") and depth == 0:
            return
    raise SchemaError(f"{key} must be one filter in parentheses, e.g. (objectClass=person): {text!r}")
