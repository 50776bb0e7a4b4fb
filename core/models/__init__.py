"""The data model, one module per concern; import models from here."""
from .api_tokens import ApiToken
from .admin import DOMAIN_ADMIN, SERVER_ADMIN, AdminRole, Setting
from .aliases import TO_EXTERNAL, TO_MAILBOX, TO_SHARED, Alias, AliasDestination
from .audit import AuditEntry
from .base import Base, InvalidName, normalize_address, normalize_domain
from .directory import DirectoryPerson, DirectorySettings
from .domains import DELIVER, RELAY, Domain
from .groups import Group, group_members
from .jobs import AdminJob
from .links import PasswordLink
from .mailboxes import Credential, Mailbox
from .preferences import (IdentitySettings, MailPreferences, NotificationFolder, ReceiptRefusal,
                          TrustedSender)
from .sessions import WebSession
from .scheduled import ScheduledMessage
from .server import ServerSettings
from .twofactor import AppPassword, RecoveryCode, TwoFactor
from .spam import ALLOW_FROM, ALLOW_TO, BLOCK_FROM, RULE_KINDS, SpamRule
from .shared import SharedDirectoryOwner, SharedMailbox, shared_mailbox_owners

__all__ = [
    "AdminRole", "Alias", "AliasDestination", "Base", "Credential", "DELIVER", "DOMAIN_ADMIN", "Domain",
    "Group", "InvalidName", "Mailbox", "RELAY", "SERVER_ADMIN", "Setting", "SharedDirectoryOwner",
    "SharedMailbox",
    "TO_EXTERNAL", "TO_MAILBOX", "TO_SHARED", "TrustedSender", "WebSession", "group_members",
    "normalize_address", "normalize_domain", "shared_mailbox_owners",
    "AdminJob", "AuditEntry", "PasswordLink", "IdentitySettings", "MailPreferences", "NotificationFolder",
    "ReceiptRefusal",
    "ALLOW_FROM", "ALLOW_TO", "BLOCK_FROM", "RULE_KINDS", "SpamRule", "ServerSettings", "AppPassword",
    "RecoveryCode", "TwoFactor", "ScheduledMessage", "DirectoryPerson", "DirectorySettings", "ApiToken",
]
