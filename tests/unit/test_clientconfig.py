"""The documents mail programs set themselves up from: autoconfig, autodiscover, the profile."""
import plistlib
import xml.etree.ElementTree as ET

import pytest

from core.mail import clientconfig
from core.mail.clientconfig import SSL, STARTTLS, Server
from core.models import RELAY
from core.services.directory import domains, lookup
from core.services.directory.lookup import SYSTEM_ACTOR
from core.services.errors import InvalidInput, NotFound
from core.services.personal import mailapps

HOST = "mail.example.org"
SERVERS = [Server("imap", HOST, 993, SSL), Server("imap", HOST, 143, STARTTLS),
           Server("pop3", HOST, 110, STARTTLS), Server("smtp", HOST, 587, STARTTLS),
           Server("sieve", HOST, 4190, STARTTLS)]
OUTLOOK = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
REQUEST = ('<?xml version="1.0" encoding="utf-8"?>'
           '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">'
           "<Request><EMailAddress>{address}</EMailAddress><AcceptableResponseSchema>{schema}"
           "</AcceptableResponseSchema></Request></Autodiscover>")


def outlook_request(address: str, schema: str = clientconfig.OUTLOOK_RESPONSE) -> bytes:
    return REQUEST.format(address=address, schema=schema).encode()


def test_autoconfig_lists_each_mail_server_as_thunderbird_reads_it():
    root = ET.fromstring(clientconfig.autoconfig("example.org", "Example", SERVERS))
    assert (root.tag, root.get("version")) == ("clientConfig", "1.1")
    provider = root.find("emailProvider")
    assert provider.get("id") == "example.org"
    assert [provider.findtext(tag) for tag in ("domain", "displayName", "displayShortName")] == \
        ["example.org", "Example", "Example"]
    entries = [(e.tag, e.get("type"), e.findtext("hostname"), e.findtext("port"),
                e.findtext("socketType"), e.findtext("authentication"), e.findtext("username"))
               for e in provider if e.tag.endswith("Server")]
    assert entries == [
        ("incomingServer", "imap", HOST, "993", "SSL", "password-cleartext", "%EMAILADDRESS%"),
        ("incomingServer", "imap", HOST, "143", "STARTTLS", "password-cleartext", "%EMAILADDRESS%"),
        ("incomingServer", "pop3", HOST, "110", "STARTTLS", "password-cleartext", "%EMAILADDRESS%"),
        ("outgoingServer", "smtp", HOST, "587", "STARTTLS", "password-cleartext", "%EMAILADDRESS%"),
    ]


def test_autoconfig_cannot_be_bent_by_a_name_full_of_markup():
    name = '</displayName><incomingServer type="imap"><hostname>evil.test'
    root = ET.fromstring(clientconfig.autoconfig("example.org", name, SERVERS[:1]))
    assert root.find("emailProvider/displayName").text == name
    assert len(root.findall("emailProvider/incomingServer")) == 1


def test_autodiscover_answers_in_outlooks_schema_with_the_address_as_login():
    root = ET.fromstring(clientconfig.autodiscover("ann@example.org", SERVERS))
    assert root.tag == "{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}Autodiscover"
    account = root.find(f"{OUTLOOK}Response/{OUTLOOK}Account")
    assert account.findtext(f"{OUTLOOK}AccountType") == "email"
    assert account.findtext(f"{OUTLOOK}Action") == "settings"
    fields = ("Type", "Server", "Port", "LoginName", "SSL", "Encryption", "AuthRequired", "SPA")
    protocols = [tuple(p.findtext(OUTLOOK + f) for f in fields) for p in account.findall(f"{OUTLOOK}Protocol")]
    assert protocols == [
        ("IMAP", HOST, "993", "ann@example.org", "on", "SSL", "on", "off"),
        ("IMAP", HOST, "143", "ann@example.org", "on", "TLS", "on", "off"),
        ("POP3", HOST, "110", "ann@example.org", "on", "TLS", "on", "off"),
        ("SMTP", HOST, "587", "ann@example.org", "on", "TLS", "on", "off"),
    ]


def test_the_address_is_read_from_outlooks_request():
    assert clientconfig.autodiscover_address(outlook_request(" ann@example.org ")) == "ann@example.org"


@pytest.mark.parametrize("body", [
    b"x=1",
    b"<Autodiscover><Request/></Autodiscover>",
    outlook_request("", clientconfig.OUTLOOK_RESPONSE),
    outlook_request("ann@example.org",
                    "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"),
    b'<!DOCTYPE Autodiscover [<!ENTITY e SYSTEM "file:///etc/hostname">]>'
    + outlook_request("&e;").partition(b"?>")[2],
], ids=["form", "empty", "no-address", "activesync", "external-entity"])
def test_what_is_not_an_outlook_request_is_refused(body):
    with pytest.raises(ValueError):
        clientconfig.autodiscover_address(body)


def test_the_profile_sets_up_imap_and_smtp_without_a_password():
    raw = clientconfig.mobileconfig("ann@example.org", "Ann Example", SERVERS)
    profile = plistlib.loads(raw)
    assert profile["PayloadType"] == "Configuration"
    (account,) = profile["PayloadContent"]
    assert account["PayloadType"] == "com.apple.mail.managed"
    assert account["EmailAccountType"] == "EmailTypeIMAP"
    assert (account["EmailAddress"], account["EmailAccountName"]) == ("ann@example.org", "Ann Example")
    assert (account["IncomingMailServerHostName"], account["IncomingMailServerPortNumber"],
            account["IncomingMailServerUseSSL"]) == (HOST, 993, True)
    assert (account["OutgoingMailServerHostName"], account["OutgoingMailServerPortNumber"],
            account["OutgoingMailServerUseSSL"]) == (HOST, 587, True)
    assert account["IncomingMailServerUsername"] == account["OutgoingMailServerUsername"] == "ann@example.org"
    assert not {"IncomingPassword", "OutgoingPassword"} & set(account)
    assert b"Password</key>" not in raw.replace(b"SameAsIncomingPassword</key>", b"")


def test_the_same_account_gets_the_same_profile_identifiers():
    first = plistlib.loads(clientconfig.mobileconfig("ann@example.org", "Ann", SERVERS))
    again = plistlib.loads(clientconfig.mobileconfig("ann@example.org", "Ann E.", SERVERS))
    other = plistlib.loads(clientconfig.mobileconfig("bob@example.org", "Bob", SERVERS))
    assert first["PayloadUUID"] == again["PayloadUUID"] != other["PayloadUUID"]
    assert first["PayloadContent"][0]["PayloadUUID"] != first["PayloadUUID"]


def test_the_profile_adds_the_contacts_account_when_phones_have_a_carddav_url():
    assert len(plistlib.loads(clientconfig.mobileconfig("ann@example.org", "Ann", SERVERS))["PayloadContent"]) == 1
    raw = clientconfig.mobileconfig("ann@example.org", "Ann", SERVERS, "https://dav.example.org/carddav/")
    (_, contacts) = plistlib.loads(raw)["PayloadContent"]
    assert contacts["PayloadType"] == "com.apple.carddav.account"
    assert (contacts["CardDAVHostName"], contacts["CardDAVPort"], contacts["CardDAVUseSSL"]) == ("dav.example.org", 443, True)
    assert contacts["CardDAVPrincipalURL"] == "/carddav/ann@example.org/"
    assert contacts["CardDAVUsername"] == "ann@example.org" and "CardDAVPassword" not in contacts


def test_servers_come_from_the_configured_ports_and_host():
    cfg = {"MAIL_HOSTNAME": HOST, "IMAPS_PORT": 993, "IMAP_PORT": 143, "POP3S_PORT": 0,
           "POP3_PORT": 110, "SMTPS_PORT": 0, "SUBMISSION_PORT": 587, "SIEVE_PORT": 4190}
    assert mailapps.servers(cfg) == SERVERS


def test_only_domains_delivered_here_are_served(directory):
    with directory.transaction() as session:
        relayed = lookup.get_domain(session, "other.test")
        domains.update_domain(session, SYSTEM_ACTOR, relayed, mode=RELAY, relay="mx.other.test")
    with directory.factory() as session:
        address, domain = mailapps.served(session, "Nobody-Here@Example.TEST")
        assert (address, domain.name) == ("nobody-here@example.test", "example.test")
        for unknown in ("ann@elsewhere.test", "ann@sub.example.test", "ann@other.test"):
            with pytest.raises(NotFound):
                mailapps.served(session, unknown)
        with pytest.raises(InvalidInput):
            mailapps.served(session, "not an address")
