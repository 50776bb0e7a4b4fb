"""A plain CardDAV client for the address book tests: http.client, Basic auth, its own source address."""
from __future__ import annotations

import base64
import http.client

QUERY = ('<?xml version="1.0" encoding="utf-8"?>'
         '<c:addressbook-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav">'
         '<d:prop><d:getetag/><c:address-data/></d:prop></c:addressbook-query>')
HOME = ('<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop>'
        '<d:resourcetype/><d:displayname/></d:prop></d:propfind>')


class Dav:
    """What a phone does: requests to Radicale as ADDRESS with PASSWORD, from SOURCE
    (a loopback address of the test's own, where Dovecot's failed-login penalty falls)."""

    def __init__(self, cfg: dict, address: str, password: str, source: str) -> None:
        self.cfg, self.address, self.source = cfg, address, source
        self.auth = "Basic " + base64.b64encode(f"{address}:{password}".encode()).decode()

    @property
    def book(self) -> str:
        return f"/{self.address}/contacts/"

    def request(self, method: str, path: str, body: str = "", **headers: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection(self.cfg["CARDDAV_HOST"], int(self.cfg["CARDDAV_PORT"]),
                                          timeout=30, source_address=(self.source, 0))
        try:
            conn.request(method, path, body.encode(), {"Authorization": self.auth,
                                                       "Content-Type": "application/xml; charset=utf-8",
                                                       **{k.replace("_", "-"): v for k, v in headers.items()}})
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def report(self, path: str | None = None) -> tuple[int, str]:
        """Every card of the book (path: another one's), as an addressbook-query."""
        return self.request("REPORT", path or self.book, QUERY, Depth="1")
