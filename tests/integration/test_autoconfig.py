"""Thunderbird's autoconfig, Outlook's autodiscover and the iPhone profile, answered by the
app and then used as a mail program uses them: their values sign in over IMAP and POP3
and send over submission to the real stack."""
from __future__ import annotations

import plistlib
import poplib
import re
import smtplib
import socket
import ssl
import time
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import unquote, urlsplit

import pytest
from imapclient import IMAPClient

from core.models import RELAY
from core.services.directory import domains, lookup
from core.services.directory.lookup import SYSTEM_ACTOR
from tests.helpers import PASSWORD, csrf_token, message, new_address, signed_in_client
from tests.integration.admin_support import unique
from tests.integration.contacts_support import Dav

AUTOCONFIG_PATHS = ("/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml")
AUTODISCOVER = "/autodiscover/autodiscover.xml"
RESPONSE = "{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}"
OUTLOOK = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
OUTLOOK_SCHEMA = OUTLOOK.strip("{}")
REQUEST_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
# Outlook's Encryption words as Thunderbird's socketType.
SOCKET_TYPE = {"SSL": "SSL", "TLS": "STARTTLS"}
TIMEOUT = 15
PRINCIPAL = ('<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop>'
             '<d:current-user-principal/></d:prop></d:propfind>')


@pytest.fixture
def mail_host(monkeypatch, mail_stack) -> str:
    """The public mail host name, resolving to the stack's address as DNS would."""
    name, address, real = mail_stack["MAIL_HOSTNAME"], mail_stack["LISTEN_ADDRESS"], socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda host, *args, **kw: real(address if host == name else host, *args, **kw))
    return name


def tls(cfg) -> ssl.SSLContext:
    """A context that trusts the stack's certificate and checks the host name against it."""
    return ssl.create_default_context(cafile=cfg["TLS_CA_FILE"])


def outlook_request(address: str) -> bytes:
    root = ET.Element("Autodiscover", xmlns=REQUEST_SCHEMA)
    request = ET.SubElement(root, "Request")
    ET.SubElement(request, "EMailAddress").text = address
    ET.SubElement(request, "AcceptableResponseSchema").text = OUTLOOK_SCHEMA
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def imap_session(cfg, host: str, port: int, security: str, login: str) -> IMAPClient:
    client = IMAPClient(host, port=port, ssl=security == "SSL", ssl_context=tls(cfg), timeout=TIMEOUT)
    if security == "STARTTLS":
        client.starttls(tls(cfg))
    client.login(login, PASSWORD)
    return client


def pop3_count(cfg, host: str, port: int, security: str, login: str) -> int:
    if security == "SSL":
        pop = poplib.POP3_SSL(host, port, context=tls(cfg), timeout=TIMEOUT)
    else:
        pop = poplib.POP3(host, port, timeout=TIMEOUT)
        pop.stls(tls(cfg))
    try:
        pop.user(login)
        pop.pass_(PASSWORD)
        return pop.stat()[0]
    finally:
        pop.quit()


def send(cfg, host: str, port: int, security: str, login: str, subject: str) -> None:
    if security == "SSL":
        smtp = smtplib.SMTP_SSL(host, port, local_hostname="localhost", timeout=TIMEOUT, context=tls(cfg))
    else:
        smtp = smtplib.SMTP(host, port, local_hostname="localhost", timeout=TIMEOUT)
        smtp.starttls(context=tls(cfg))
    with smtp:
        smtp.login(login, PASSWORD)
        smtp.send_message(message(login, login, subject))


def arrived(client: IMAPClient, subjects: list[str], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        client.select_folder("INBOX", readonly=True)
        if all(client.search(["SUBJECT", subject]) for subject in subjects):
            return True
        time.sleep(0.2)
    return False


def servers(provider: ET.Element, tag: str) -> list[tuple]:
    return [(s.get("type"), s.findtext("hostname"), int(s.findtext("port")), s.findtext("socketType"),
             s.findtext("authentication"), s.findtext("username")) for s in provider.findall(tag)]


def test_thunderbirds_settings_sign_in_and_send(app, mail_stack, stack_db, domain, mail_host):
    address = new_address(stack_db, domain, "tbird", spam_to_junk=False)
    client = app.test_client()
    first, second = (client.get(f"{path}?emailaddress={address}") for path in AUTOCONFIG_PATHS)
    assert (first.status_code, first.mimetype) == (200, "text/xml")
    assert second.data == first.data
    root = ET.fromstring(first.data)
    assert (root.tag, root.get("version")) == ("clientConfig", "1.1")
    provider = root.find("emailProvider")
    assert (provider.get("id"), provider.findtext("domain")) == (domain, domain)
    cfg, login = mail_stack, "%EMAILADDRESS%"
    incoming, outgoing = servers(provider, "incomingServer"), servers(provider, "outgoingServer")
    assert incoming == [
        ("imap", mail_host, cfg["IMAPS_PORT"], "SSL", "password-cleartext", login),
        ("imap", mail_host, cfg["IMAP_PORT"], "STARTTLS", "password-cleartext", login),
        ("pop3", mail_host, cfg["POP3S_PORT"], "SSL", "password-cleartext", login),
        ("pop3", mail_host, cfg["POP3_PORT"], "STARTTLS", "password-cleartext", login),
    ]
    assert outgoing == [
        ("smtp", mail_host, cfg["SMTPS_PORT"], "SSL", "password-cleartext", login),
        ("smtp", mail_host, cfg["SUBMISSION_PORT"], "STARTTLS", "password-cleartext", login),
    ]
    # Thunderbird puts the typed address in place of %EMAILADDRESS%, then connects.
    subjects = []
    for _, host, port, security, _, username in outgoing:
        subjects.append(f"autoconfig {security} {uuid.uuid4().hex[:8]}")
        send(cfg, host, port, security, username.replace(login, address), subjects[-1])
    for kind, host, port, security, _, username in incoming:
        if kind == "imap":
            with imap_session(cfg, host, port, security, username.replace(login, address)) as imap:
                assert arrived(imap, subjects)
        else:
            assert pop3_count(cfg, host, port, security, username.replace(login, address)) >= len(subjects)
    assert root.find("addressBook") is None  # the address book server is on loopback only


def test_thunderbirds_address_book_setting_finds_the_persons_book(app, mail_stack, stack_db, domain,
                                                                 monkeypatch):
    address = new_address(stack_db, domain, "tbook")
    public = f"http://{mail_stack['CARDDAV_HOST']}:{mail_stack['CARDDAV_PORT']}/"
    monkeypatch.setitem(app.config, "CARDDAV_URL", public)  # as behind the admin's reverse proxy
    root = ET.fromstring(app.test_client().get(f"{AUTOCONFIG_PATHS[0]}?emailaddress={address}").data)
    books = root.findall("addressBook")
    assert [(b.get("type"), b.findtext("username"), b.findtext("authentication"), b.findtext("serverURL"))
            for b in books] == [("carddav", "%EMAILADDRESS%", "http-basic", public)]
    # Thunderbird asks the server URL who signed in, then lists that principal's books.
    url = urlsplit(books[0].findtext("serverURL"))
    thunderbird = Dav({"CARDDAV_HOST": url.hostname, "CARDDAV_PORT": url.port},
                      books[0].findtext("username").replace("%EMAILADDRESS%", address), PASSWORD, "127.0.0.87")
    status, answer = thunderbird.request("PROPFIND", url.path, PRINCIPAL, Depth="0")
    assert status == 207 and f"<href>/{address}/</href>" in unquote(answer).replace("D:", ""), answer


def test_outlooks_autodiscover_answers_in_its_schema_and_signs_in(app, mail_stack, stack_db, domain,
                                                                  mail_host):
    address = new_address(stack_db, domain, "outlook")
    client = app.test_client()
    response = client.post(AUTODISCOVER, data=outlook_request(address.upper()),
                           content_type="text/xml")
    assert (response.status_code, response.mimetype) == (200, "text/xml")
    root = ET.fromstring(response.data)
    assert root.tag == f"{RESPONSE}Autodiscover"
    account = root.find(f"{OUTLOOK}Response/{OUTLOOK}Account")
    assert (account.findtext(f"{OUTLOOK}AccountType"), account.findtext(f"{OUTLOOK}Action")) == \
        ("email", "settings")
    fields = ("Type", "Server", "Port", "Encryption", "LoginName", "SSL", "AuthRequired")
    protocols = [tuple(p.findtext(OUTLOOK + f) for f in fields) for p in account.findall(f"{OUTLOOK}Protocol")]
    cfg = mail_stack
    assert protocols == [(kind, mail_host, str(cfg[key]), encryption, address, "on", "on")
                         for kind, key, encryption in (
                             ("IMAP", "IMAPS_PORT", "SSL"), ("IMAP", "IMAP_PORT", "TLS"),
                             ("POP3", "POP3S_PORT", "SSL"), ("POP3", "POP3_PORT", "TLS"),
                             ("SMTP", "SMTPS_PORT", "SSL"), ("SMTP", "SUBMISSION_PORT", "TLS"))]
    for kind, host, port, encryption, login, *_ in protocols:
        if kind == "IMAP":
            with imap_session(cfg, host, int(port), SOCKET_TYPE[encryption], login) as imap:
                assert imap.select_folder("INBOX", readonly=True)
    for path in (AUTODISCOVER, "/Autodiscover/Autodiscover.xml"):
        assert client.get(f"{path}?emailaddress={address}").data == response.data


def test_the_answer_is_the_same_for_any_address_of_the_domain(app, stack_db, domain):
    real = new_address(stack_db, domain, "exists")
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@{domain}"
    client = app.test_client()
    answers = [client.get(f"{AUTOCONFIG_PATHS[0]}?emailaddress={a}") for a in (real, nobody)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].data == answers[1].data
    outlook = [client.post(AUTODISCOVER, data=outlook_request(a), content_type="text/xml").data
               for a in (real, nobody)]
    assert outlook[0].replace(real.encode(), nobody.encode()) == outlook[1]


def test_other_domains_and_malformed_requests_get_no_settings(app, stack_db):
    relayed = f"{unique('relayed')}.test"
    with stack_db.transaction() as session:
        lookup.add_domain(session, relayed)
        domains.update_domain(session, SYSTEM_ACTOR, lookup.get_domain(session, relayed), mode=RELAY,
                              relay="mx.elsewhere.test")
    client = app.test_client()
    for address in ("ann@unknown-domain.test", f"ann@{relayed}", "not an address", ""):
        for path in (*AUTOCONFIG_PATHS, AUTODISCOVER):
            assert client.get(f"{path}?emailaddress={address}").status_code == 404, (path, address)
        if address:
            assert client.post(AUTODISCOVER, data=outlook_request(address),
                               content_type="text/xml").status_code == 404, address
    assert client.post(AUTODISCOVER, data=b"<Autodiscover/>", content_type="text/xml").status_code == 400
    assert client.post(AUTODISCOVER, data=b" " * 9000 + outlook_request("a@b.test"),
                       content_type="text/xml").status_code == 413


def test_the_iphone_profile_is_the_persons_account_without_a_password(app, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "iphone")
    client = signed_in_client(app, address)
    page = client.get("/settings/mail-app").get_data(as_text=True)
    assert mail_stack["MAIL_HOSTNAME"] in page and 'src="data:image/svg+xml' in page
    response = client.get("/settings/mail-app/mail.mobileconfig")
    assert response.status_code == 200
    assert response.mimetype == "application/x-apple-aspen-config"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{address}.mobileconfig"'
    assert PASSWORD.encode() not in response.data
    (account,) = plistlib.loads(response.data)["PayloadContent"]
    assert (account["EmailAddress"], account["IncomingMailServerUsername"]) == (address, address)
    assert (account["IncomingMailServerHostName"], account["IncomingMailServerPortNumber"]) == \
        (mail_stack["MAIL_HOSTNAME"], mail_stack["IMAPS_PORT"])
    assert (account["OutgoingMailServerHostName"], account["OutgoingMailServerPortNumber"]) == \
        (mail_stack["MAIL_HOSTNAME"], mail_stack["SMTPS_PORT"])


def test_the_qr_codes_address_leads_a_phone_through_sign_in_to_the_profile(app, stack_db, domain):
    address = new_address(stack_db, domain, "qrcode")
    page = signed_in_client(app, address).get("/settings/mail-app").get_data(as_text=True)
    profile_url = "http://localhost/settings/mail-app/mail.mobileconfig"
    assert f"The code holds the address {profile_url}" in page
    phone = app.test_client()  # Safari on the phone, not signed in yet
    to_login = phone.get(profile_url)
    assert to_login.status_code == 302 and "/login?next=" in to_login.headers["Location"]
    form = phone.get(to_login.headers["Location"]).get_data(as_text=True)
    next_path = re.search(r'name="next" value="([^"]+)"', form).group(1)
    signed_in = phone.post("/login", data={"address": address, "password": PASSWORD, "next": next_path,
                                           "csrf_token": csrf_token(form)})
    assert signed_in.headers["Location"] == "/settings/mail-app/mail.mobileconfig"
    profile = phone.get(signed_in.headers["Location"])
    assert plistlib.loads(profile.data)["PayloadContent"][0]["EmailAddress"] == address
