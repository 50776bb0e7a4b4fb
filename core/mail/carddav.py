"""A CardDAV client for one person's address book on the stack's Radicale (RFC 6352).

Plain HTTP over one kept-alive connection per thread: PROPFIND to find the book,
MKCOL to create it, REPORT addressbook-query for every card with its href and ETag, GET,
PUT (If-Match / If-None-Match) and DELETE. The webmail signs in with a short-lived
token signed with the web app's key (stack/carddav/mailroom_carddav/token.py), never
with the person's password. Raises ServiceUnavailable when Radicale does not answer,
NotFoundError for a card that is gone, CardDavError for any other refusal.
"""
from __future__ import annotations

import base64
import http.client
import re
import socket
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from core.i18n import N_
from core.i18n import lazy_gettext as _l
from stack.carddav.mailroom_carddav import token

from .errors import MailError, NotFoundError, ServiceUnavailable

SERVICE = N_("address book service (Radicale)")
BOOK = "contacts"  # the address book the webmail keeps; phones see it under the same name
DAV, CARD = "DAV:", "urn:ietf:params:xml:ns:carddav"
CARD_NAME = re.compile(r"[A-Za-z0-9_.~@%-]{1,255}")
NS = {"d": DAV, "c": CARD, "cs": "http://calendarserver.org/ns/"}
MKCOL_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:mkcol xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:set><d:prop>'
    '<d:resourcetype><d:collection/><c:addressbook/></d:resourcetype>'
    '<d:displayname>Contacts</d:displayname></d:prop></d:set></d:mkcol>'
)
CTAG_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/></d:prop></d:propfind>'
)
QUERY_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<c:addressbook-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav">'
    '<d:prop><d:getetag/><c:address-data/></d:prop></c:addressbook-query>'
)


PUT_ALL_TIMEOUT = 120.0  # seconds a whole book may take to store (vcard.MAX_CARDS cards)


class CardDavError(MailError):
    """The CardDAV server refused a request (its status and reason in the message)."""


class Conflict(CardDavError):
    """The card changed (or appeared) since it was read: its ETag no longer matches."""


@dataclass(frozen=True)
class CardDavSettings:
    """Where Radicale listens and the key the app signs its logins with."""

    host: str
    port: int
    timeout: float
    web_key: str

    @classmethod
    def from_config(cls, cfg: dict) -> "CardDavSettings":
        return cls(str(cfg["CARDDAV_HOST"]), int(cfg["CARDDAV_PORT"]), float(cfg["MAIL_TIMEOUT"]),
                   str(cfg.get("CARDDAV_KEY", "")))


@dataclass(frozen=True)
class StoredCard:
    """One card as the server holds it, e.g. StoredCard('/a@x/contacts/1.vcf', '"e1"', 'BEGIN:VCARD…')."""

    href: str
    etag: str
    text: str


_local = threading.local()


class AddressBook:
    """LOGIN's address book, e.g. AddressBook(settings, 'anna@example.test').cards()."""

    def __init__(self, settings: CardDavSettings, login: str) -> None:
        self.settings, self.login = settings, login
        self.path = f"/{quote(login, safe='@')}/{BOOK}/"

    def href(self, name: str) -> str:
        """The href of a card file NAME (a UID made safe) in this book."""
        return self.path + quote(name, safe="@") + ".vcf"

    def owns(self, href: str) -> bool:
        """Whether HREF names a card directly inside this book (not elsewhere): a file name
        as the server quotes it (unreserved characters, @ and %XX only)."""
        rest = href.removeprefix(self.path)
        return href.startswith(self.path) and bool(CARD_NAME.fullmatch(rest)) and ".." not in rest

    def ensure(self) -> None:
        """Create the book unless it exists (PROPFIND, then MKCOL)."""
        # One property only: Radicale's allprop answer includes the whole book's size.
        status, _, _ = self._request("PROPFIND", self.path, CTAG_BODY, {"Depth": "0"})
        if status == 404:
            status, reason, _ = self._request("MKCOL", self.path, MKCOL_BODY)
            if status not in (201, 405):  # 405: made meanwhile by another request
                raise CardDavError(f"could not create the address book: {status} {reason}")
        elif status != 207:
            raise CardDavError(f"the address book answered {status}")

    def ctag(self) -> str | None:
        """The book's change tag, which changes with every card written (None: no book yet)."""
        status, reason, body = self._request("PROPFIND", self.path, CTAG_BODY, {"Depth": "0"})
        if status == 404:
            return None
        if status != 207:
            raise CardDavError(f"the address book answered {status} {reason}")
        try:
            return ET.fromstring(body).findtext(".//cs:getctag", "", NS)
        except ET.ParseError as exc:
            raise CardDavError(f"the address book sent a malformed answer: {exc}") from exc

    def cards(self) -> list[StoredCard]:
        """Every card of the book with its href and ETag (one REPORT)."""
        status, reason, body = self._request("REPORT", self.path, QUERY_BODY, {"Depth": "1"})
        if status == 404:
            return []
        if status != 207:
            raise CardDavError(f"listing the address book: {status} {reason}")
        return _parse_multistatus(body)

    def get(self, href: str) -> StoredCard:
        """The card at HREF; NotFoundError when it is gone."""
        status, reason, body, etag = self._request_etag("GET", href, "")
        if status == 404:
            raise NotFoundError(_l("That contact does not exist (any more)."))
        if status != 200:
            raise CardDavError(f"reading a contact: {status} {reason}")
        return StoredCard(href, etag, body.decode("utf-8", "replace"))

    def put(self, href: str, text: str, etag: str | None = None) -> None:
        """Store TEXT at HREF: a new card when ETAG is None, else only over that version."""
        headers = {"Content-Type": "text/vcard; charset=utf-8"}
        headers["If-Match" if etag else "If-None-Match"] = etag or "*"
        status, reason, _ = self._request("PUT", href, text, headers)
        if status == 412:
            raise Conflict(_l("The contact was changed elsewhere meanwhile; open it again."))
        if status not in (200, 201, 204):
            raise CardDavError(f"saving a contact: {status} {reason}")

    def put_all(self, text: str) -> None:
        """Make the book hold exactly the cards of TEXT (a .vcf), in one request.

        Radicale checks a new card's UID against every card of the book, so filling an
        empty book card by card costs time growing with the square of their number; this
        way it grows with the number (measured: ~18 ms a card on a loaded machine, so up
        to PUT_ALL_TIMEOUT).
        """
        status, reason, _ = self._request("PUT", self.path, text, {"Content-Type": "text/vcard; charset=utf-8"},
                                          timeout=PUT_ALL_TIMEOUT)
        if status not in (200, 201, 204):
            raise CardDavError(f"saving the address book: {status} {reason}")

    def delete(self, href: str) -> None:
        """Remove the card at HREF (gone already counts as done)."""
        status, reason, _ = self._request("DELETE", href, "")
        if status not in (200, 204, 404):
            raise CardDavError(f"deleting a contact: {status} {reason}")

    def _request(self, method: str, path: str, body: str, headers: dict | None = None,
                 timeout: float | None = None) -> tuple[int, str, bytes]:
        status, reason, data, _ = self._request_etag(method, path, body, headers, timeout)
        return status, reason, data

    def _request_etag(self, method: str, path: str, body: str, headers: dict | None = None,
                      timeout: float | None = None) -> tuple[int, str, bytes, str]:
        """Send one request on this thread's connection (once more on a fresh one if the
        kept-alive connection was closed meanwhile); with TIMEOUT, on a connection of its
        own that waits that long."""
        credentials = f"{self.login}:{token.make(self.settings.web_key, self.login)}"
        sent = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
                "Content-Type": "application/xml; charset=utf-8", **(headers or {})}
        for attempt in (1, 2):
            conn = (http.client.HTTPConnection(self.settings.host, self.settings.port, timeout=timeout)
                    if timeout else _connection(self.settings, fresh=attempt == 2))
            try:
                conn.request(method, path, body.encode("utf-8"), sent)
                response = conn.getresponse()
                data = response.read()
                if timeout:
                    conn.close()
                return response.status, response.reason, data, response.getheader("ETag", "")
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                conn.close()
                if attempt == 2:
                    raise ServiceUnavailable(SERVICE, str(exc)) from exc
            except (OSError, socket.timeout, http.client.HTTPException) as exc:
                conn.close()
                raise ServiceUnavailable(SERVICE, str(exc) or type(exc).__name__) from exc
        raise AssertionError("unreachable")


def _connection(settings: CardDavSettings, fresh: bool) -> http.client.HTTPConnection:
    """This thread's connection to Radicale (kept alive between requests)."""
    key = (settings.host, settings.port)
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    conn = conns.get(key)
    if conn is None or fresh:
        conn = conns[key] = http.client.HTTPConnection(settings.host, settings.port,
                                                        timeout=settings.timeout)
    return conn


def _parse_multistatus(body: bytes) -> list[StoredCard]:
    """The cards of a REPORT answer (responses without address data are skipped)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise CardDavError(f"the address book sent a malformed answer: {exc}") from exc
    found = []
    for response in root.findall("d:response", NS):
        href = unquote(urlsplit(response.findtext("d:href", "", NS)).path)
        for propstat in response.findall("d:propstat", NS):
            data = propstat.findtext("d:prop/c:address-data", None, NS)
            if data and "200" in propstat.findtext("d:status", "", NS):
                found.append(StoredCard(quote(href, safe="/@"), propstat.findtext("d:prop/d:getetag", "", NS), data))
    return found
