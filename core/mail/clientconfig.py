"""What mail programs read to set up an account: Thunderbird's autoconfig, Outlook's
autodiscover and Apple's configuration profile. Built with xml.etree and plistlib,
never by formatting strings, so no address or name can change their structure.
"""
from __future__ import annotations

import plistlib
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

# Thunderbird's socketType words, used throughout: TLS from the first byte (RFC 8314), or
# a plain connection that STARTTLS upgrades before anyone signs in.
SSL, STARTTLS = "SSL", "STARTTLS"
# The protocols autoconfig and autodiscover describe (ManageSieve is not among them).
MAIL_PROTOCOLS = ("imap", "pop3", "smtp")
# What Thunderbird puts in place of the address the person typed.
EMAIL_PLACEHOLDER = "%EMAILADDRESS%"
# Outlook's "plain old XML" autodiscover (MS-OXDSCLI): the request names the response schema.
AUTODISCOVER_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
OUTLOOK_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
# Outlook's Encryption element: "TLS" is STARTTLS on the protocol's plain port.
OUTLOOK_ENCRYPTION = {SSL: "SSL", STARTTLS: "TLS"}
# Apple's content type for configuration profiles (Safari offers to install them).
MOBILECONFIG_TYPE = "application/x-apple-aspen-config"


@dataclass(frozen=True)
class Server:
    """One port people's mail programs connect to, e.g. Server('imap', 'mail.example.org', 993, 'SSL')."""

    protocol: str  # imap | pop3 | smtp | sieve
    host: str
    port: int
    security: str  # SSL | STARTTLS


def _add(parent: ET.Element, tag: str, text: str | int, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = str(text)
    return element


def _mail(servers: list[Server]) -> list[Server]:
    return [server for server in servers if server.protocol in MAIL_PROTOCOLS]


def _document(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def autoconfig(domain: str, display_name: str, servers: list[Server], carddav_url: str = "") -> bytes:
    """Thunderbird's config-v1.1.xml for DOMAIN: every IMAP, POP3 and SMTP server in order
    of preference; the user name is the address the person typed. With CARDDAV_URL (the
    address book server as mail programs reach it), the address book too."""
    root = ET.Element("clientConfig", version="1.1")
    provider = ET.SubElement(root, "emailProvider", id=domain)
    _add(provider, "domain", domain)
    _add(provider, "displayName", display_name)
    _add(provider, "displayShortName", display_name)
    for server in _mail(servers):
        tag = "outgoingServer" if server.protocol == "smtp" else "incomingServer"
        entry = ET.SubElement(provider, tag, type=server.protocol)
        _add(entry, "hostname", server.host)
        _add(entry, "port", server.port)
        _add(entry, "socketType", server.security)
        _add(entry, "authentication", "password-cleartext")
        _add(entry, "username", EMAIL_PLACEHOLDER)
    if carddav_url:
        # A sibling of emailProvider (Thunderbird 102+ and the autoconfig spec): Thunderbird
        # finds the person's books from the server URL (current-user-principal).
        book = ET.SubElement(root, "addressBook", type="carddav")
        _add(book, "username", EMAIL_PLACEHOLDER)
        _add(book, "authentication", "http-basic")
        _add(book, "serverURL", carddav_url)
    return _document(root)


def autodiscover_address(body: bytes) -> str:
    """The EMailAddress of an Outlook autodiscover request; ValueError when BODY is not one.

    xml.etree resolves no external entities, and the expat it is built on (2.4.1 and
    later) stops entity expansion bombs; the caller also bounds the body's size.
    """
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ValueError(f"not XML: {exc}") from exc
    schema = root.findtext("{*}Request/{*}AcceptableResponseSchema", "").strip()
    if schema != OUTLOOK_RESPONSE:
        raise ValueError(f"cannot answer in the schema {schema!r}")
    address = root.findtext("{*}Request/{*}EMailAddress", "").strip()
    if not address:
        raise ValueError("no EMailAddress in the request")
    return address


def autodiscover(address: str, servers: list[Server]) -> bytes:
    """Outlook's autodiscover answer for ADDRESS: one Protocol per IMAP, POP3 and SMTP
    server in order of preference, each signing in with the address."""
    root = ET.Element("Autodiscover", xmlns=AUTODISCOVER_RESPONSE)
    response = ET.SubElement(root, "Response", xmlns=OUTLOOK_RESPONSE)
    account = ET.SubElement(response, "Account")
    _add(account, "AccountType", "email")
    _add(account, "Action", "settings")
    for server in _mail(servers):
        protocol = ET.SubElement(account, "Protocol")
        _add(protocol, "Type", server.protocol.upper())
        _add(protocol, "Server", server.host)
        _add(protocol, "Port", server.port)
        _add(protocol, "LoginName", address)
        _add(protocol, "DomainRequired", "off")
        _add(protocol, "SPA", "off")
        # SSL "on": signing in needs a secure connection; Encryption says which kind
        # and takes precedence over SSL for the Outlook versions that know it.
        _add(protocol, "SSL", "on")
        _add(protocol, "Encryption", OUTLOOK_ENCRYPTION[server.security])
        _add(protocol, "AuthRequired", "on")
    return _document(root)


def _first(servers: list[Server], protocol: str) -> Server:
    return next(server for server in servers if server.protocol == protocol)


def mobileconfig(address: str, name: str, servers: list[Server], carddav_url: str = "") -> bytes:
    """An Apple configuration profile with one IMAP account for ADDRESS (no password:
    the device asks for it while installing), and its contacts account when CARDDAV_URL
    (the address book server as phones reach it) is given. The identifiers are derived
    from the host and the address, so installing a newer profile replaces the older one."""
    incoming, outgoing = _first(servers, "imap"), _first(servers, "smtp")
    ident = ".".join(reversed(incoming.host.split("."))) + ".mailroom"
    account = {
        "PayloadType": "com.apple.mail.managed", "PayloadVersion": 1,
        "PayloadIdentifier": f"{ident}.mail.{address}",
        "PayloadUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"mailto:{address}?host={incoming.host}")),
        "PayloadDisplayName": address,
        "EmailAccountType": "EmailTypeIMAP", "EmailAccountDescription": address,
        "EmailAccountName": name, "EmailAddress": address,
        "IncomingMailServerHostName": incoming.host, "IncomingMailServerPortNumber": incoming.port,
        # iOS reads "UseSSL" as "use TLS": on the STARTTLS ports it upgrades the connection.
        "IncomingMailServerUseSSL": True, "IncomingMailServerUsername": address,
        "IncomingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingMailServerHostName": outgoing.host, "OutgoingMailServerPortNumber": outgoing.port,
        "OutgoingMailServerUseSSL": True, "OutgoingMailServerUsername": address,
        "OutgoingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingPasswordSameAsIncomingPassword": True,
    }
    profile = {
        "PayloadType": "Configuration", "PayloadVersion": 1,
        "PayloadIdentifier": f"{ident}.profile.{address}",
        "PayloadUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"mailto:{address}?profile={incoming.host}")),
        "PayloadDisplayName": f"Mail for {address}",
        "PayloadDescription": f"Sets up the mail account {address} on {incoming.host}.",
        "PayloadOrganization": incoming.host, "PayloadRemovalDisallowed": False,
        "PayloadContent": [account] + ([_carddav_account(address, carddav_url, ident)] if carddav_url else []),
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML)


def _carddav_account(address: str, url: str, ident: str) -> dict:
    """The profile's contacts account (com.apple.carddav.account) on the server at URL."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    return {
        "PayloadType": "com.apple.carddav.account", "PayloadVersion": 1,
        "PayloadIdentifier": f"{ident}.carddav.{address}",
        "PayloadUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"carddav:{address}?url={url}")),
        "PayloadDisplayName": f"Contacts of {address}", "CardDAVAccountDescription": f"Contacts ({address})",
        "CardDAVHostName": parts.hostname or "", "CardDAVPort": parts.port or (443 if secure else 80),
        "CardDAVUseSSL": secure, "CardDAVUsername": address,
        "CardDAVPrincipalURL": f"{parts.path.rstrip('/')}/{quote(address, safe='@')}/",
    }
