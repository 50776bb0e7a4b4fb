"""Users and groups from an LDAP directory or Active Directory (MAILROOM_ACCOUNT_PROVIDER=ldap)."""
