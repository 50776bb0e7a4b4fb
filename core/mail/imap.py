"""IMAP store over imapclient: connecting, signing in, and the reads the pages need."""
from __future__ import annotations

import imaplib
import logging
import socket
import ssl
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from imapclient.imap_utf7 import decode as decode_utf7
from imapclient.response_parser import parse_response

from core.i18n import N_

from .tls import client_context
from .errors import AuthenticationFailed, ImapError, LoginDelayed, ServiceUnavailable

log = logging.getLogger(__name__)
SERVICE = N_("IMAP server (Dovecot)")
# imaplib refuses any line over 1,000,000 bytes, and the UID SORT answer of a folder is
# one line: 7 bytes a UID, so over ~150,000 messages the list failed with "got more than
# 1000000 bytes". 64 MB holds a million UIDs many times over and still stops a runaway.
MAX_LINE = 64 * 1024 * 1024
imaplib._MAXLINE = max(imaplib._MAXLINE, MAX_LINE)  # noqa: SLF001 - no public setting


@dataclass(frozen=True)
class ImapSettings:
    """Where and how to reach the IMAP server."""

    host: str
    port: int
    tls: str = "none"  # none | starttls | ssl
    ca_file: str = ""
    timeout: float = 10.0
    # Proves to Dovecot that a LOGIN comes from the web app (two-factor sign-in).
    web_key: str = ""

    @classmethod
    def from_config(cls, cfg: dict) -> "ImapSettings":
        """Build from the app's configuration keys IMAP_*, TLS_CA_FILE, MAIL_TIMEOUT."""
        return cls(
            cfg["IMAP_HOST"], int(cfg["IMAP_PORT"]), cfg["IMAP_TLS"],
            cfg["TLS_CA_FILE"], float(cfg["MAIL_TIMEOUT"]), cfg.get("WEB_AUTH_KEY", ""),
        )

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying context trusting ca_file."""
        return client_context(self.ca_file)


@dataclass(frozen=True)
class QuotaUsage:
    """One quota resource, e.g. QuotaUsage('STORAGE', used=1200, limit=1048576) in KiB."""

    resource: str
    used: int
    limit: int

    @property
    def percent(self) -> float:
        """Usage as a percentage of the limit (0 when unlimited)."""
        return 100.0 * self.used / self.limit if self.limit else 0.0


class Client(IMAPClient):
    """IMAPClient that remembers the folder it has selected, e.g. ('INBOX', False).

    Every SELECT/EXAMINE goes through select_folder, so the list can skip re-selecting
    the folder a pooled connection already has open (with Maildir a SELECT re-reads
    the whole uidlist once another folder was opened: 55-160 ms at 100k messages).
    """

    selected: tuple[str, bool] | None = None
    selected_exists: int = 0
    selected_uidvalidity: int = 0

    def select_folder(self, folder, readonly=False):
        """SELECT (or EXAMINE) FOLDER and remember it, its size and UIDVALIDITY."""
        self.selected = None
        info = super().select_folder(folder, readonly=readonly)
        self.selected = (folder, readonly)
        self.selected_exists = int(info.get(b"EXISTS", 0))
        self.selected_uidvalidity = int(info.get(b"UIDVALIDITY", 0))
        return info

    def unselect_folder(self):
        """UNSELECT and forget the folder."""
        self.selected = None
        return super().unselect_folder()

    def close_folder(self):
        """CLOSE and forget the folder."""
        self.selected = None
        return super().close_folder()


def connect(settings: ImapSettings) -> IMAPClient:
    """Open a connection (TLS as configured); ServiceUnavailable when nobody answers."""
    try:
        client = Client(
            settings.host, port=settings.port, ssl=settings.tls == "ssl",
            ssl_context=settings.ssl_context() if settings.tls == "ssl" else None,
            timeout=settings.timeout,
        )
        if settings.tls == "starttls":
            client.starttls(settings.ssl_context())
    except (OSError, socket.timeout, IMAPClientError) as exc:
        raise ServiceUnavailable(SERVICE, str(exc)) from exc
    return client


def probe(settings: ImapSettings) -> None:
    """Connect (TLS as configured) and log out again; ServiceUnavailable if nobody answers."""
    _close_quietly(connect(settings))


def login(settings: ImapSettings, address: str, password: str,
          client_ip: str | None = None, wait: float | None = None) -> IMAPClient:
    """Connect and log in as ADDRESS; AuthenticationFailed on a wrong password.

    The browser's address goes to Dovecot with IMAP ID (RFC 2971) so that its
    failed-login penalty falls on that client, not on the web server's address.
    WAIT bounds the LOGIN itself (default: the settings' timeout): Dovecot holds back
    its answer to an address that failed before for up to 15 s; LoginDelayed says so.
    The web app's key goes too (x-forward-mailroom): with it alone Dovecot takes the main
    password of a person with two-factor sign-in, whose second factor the app asks.
    """
    client = connect(settings)
    try:
        fields = {"x-originating-ip": client_ip, "x-forward-mailroom": settings.web_key}
        fields = {name: value for name, value in fields.items() if value}
        if fields:
            client.id_({"name": "Mailroom", **fields})
        _login_within(client, address, password, wait or settings.timeout)
        client.socket().settimeout(settings.timeout)
        if client.has_capability("CONDSTORE"):
            # RFC 7162: makes SELECT report HIGHESTMODSEQ, which the list cache keys on.
            client.enable("CONDSTORE")
    except LoginError as exc:
        _close_quietly(client)
        if "[UNAVAILABLE]" in str(exc):  # e.g. Dovecot's per-user connection limit
            raise ServiceUnavailable(SERVICE, str(exc)) from exc
        raise AuthenticationFailed("wrong address or password") from exc
    except (OSError, IMAPClientError) as exc:
        _close_quietly(client)
        raise ServiceUnavailable(SERVICE, str(exc)) from exc
    return client


def _login_within(client: IMAPClient, address: str, password: str, seconds: float) -> None:
    """LOGIN, given up after SECONDS without an answer (the connection is then dropped)."""
    client.socket().settimeout(seconds)
    try:
        client.login(address, password)
    except TimeoutError as exc:
        client.shutdown()  # no LOGOUT: its answer would wait behind the delayed one
        raise LoginDelayed(f"no answer to LOGIN within {seconds:g} s") from exc


def refused(exc: Exception) -> ImapError | ServiceUnavailable:
    """An ImapError carrying what the server answered, without imapclient's prefix.

    A session the server ended (BYE) is ServiceUnavailable, so the pool drops it.

    >>> str(refused(IMAPClientError("create failed: [ALREADYEXISTS] Mailbox exists.")))
    'ALREADYEXISTS] Mailbox exists.'
    """
    text = str(exc)
    if isinstance(exc, IMAPClientAbortError):  # BYE or a broken socket: the session is gone
        return ServiceUnavailable(SERVICE, text)
    return ImapError(text.split("failed: ", 1)[-1].strip("[]' ") or text)


def _close_quietly(client: IMAPClient) -> None:
    try:
        client.logout()
    except (OSError, IMAPClientError):
        try:
            client.shutdown()
        except OSError:
            pass


def close(client: IMAPClient) -> None:
    """Log out, ignoring a connection that is already gone."""
    _close_quietly(client)


def is_alive(client: IMAPClient) -> bool:
    """True when a NOOP still gets an answer and the session can be used as it is.

    When another client deleted (and perhaps re-created) the folder this session has
    selected, Dovecot answers the NOOP with an untagged NO and the next command on
    that folder with BYE "Mailbox was deleted under us"; a STATUS still reports the
    old UIDVALIDITY. UNSELECT is still accepted then, so the folder is let go and the
    next request SELECTs whatever now has that name.
    """
    try:
        _text, untagged = client.noop()
        if getattr(client, "selected", None) and any(
                isinstance(r, tuple) and r[:1] in ((b"NO",), (b"BAD",)) for r in untagged):
            log.info("selected folder %r changed under the session: unselecting", client.selected[0])
            client.unselect_folder()
        return True
    except (OSError, IMAPClientError):
        return False


def same_status(witness: IMAPClient, client: IMAPClient, folder: str) -> bool:
    """True when WITNESS (not in FOLDER) and CLIENT (FOLDER selected) report the same state.

    Dovecot answers CLIENT's STATUS from its session's last sync, WITNESS's from the
    folder as it is now: the same UIDVALIDITY, UIDNEXT, MESSAGES and HIGHESTMODSEQ mean
    no message came, went or changed its flags since CLIENT last synced. False when
    either does not answer (or the folder is gone).
    """
    items = [b"UIDVALIDITY", b"UIDNEXT", b"MESSAGES"]
    if client.has_capability("CONDSTORE"):
        items.append(b"HIGHESTMODSEQ")
    try:
        return witness.folder_status(folder, items) == client.folder_status(folder, items)
    except (OSError, IMAPClientError):
        return False


def list_returning(client: IMAPClient, options: str) -> tuple[list[tuple], dict[str, dict]]:
    """Every folder by `LIST "" "*" RETURN (OPTIONS)`, one round trip (RFC 5258).

    The folders come as list_folders() gives them, (flags, delimiter, name); with a
    STATUS option (RFC 5819) the STATUS replies among them come as {name: items}. A
    folder the server could not give a STATUS for (no read right) has no items. E.g.
    ([((b'\\Subscribed',), b'/', 'INBOX')], {'INBOX': {b'MESSAGES': 3, b'UNSEEN': 1}}).
    imapclient has no call for it; OPTIONS is our own constant text, never user data.
    """
    # The way imapclient's own list_folders() sends LIST and collects its replies.
    conn = client._imap  # noqa: SLF001
    typ, data = conn._simple_command("LIST", b'""', b'"*"', b"RETURN", f"({options})".encode("ascii"))
    client._checkok("LIST", typ, data)  # noqa: SLF001
    listed = conn._untagged_response(typ, data, "LIST")[1]
    replies = [r for r in conn._untagged_response(typ, data, "STATUS")[1] if r not in (b"", None)]
    parsed = parse_response(replies)
    statuses = {_folder_name(client, name): dict(zip(items[::2], items[1::2]))
                for name, items in zip(parsed[::2], parsed[1::2])}
    return client._proc_folder_list(listed), statuses  # noqa: SLF001


def _folder_name(client: IMAPClient, name) -> str:
    """A folder name from a parsed reply, decoded as imapclient decodes LIST's."""
    if isinstance(name, int):  # a quoted all-digit name parses as a number
        return str(name)
    return decode_utf7(name) if client.folder_encode else name


def quota(client: IMAPClient, folder: str = "INBOX") -> list[QuotaUsage]:
    """Quota resources of FOLDER's quota root (RFC 2087); empty when there is none."""
    if not client.has_capability("QUOTA"):
        return []
    try:
        _roots, quotas = client.get_quota_root(folder)
    except IMAPClientError as exc:
        raise refused(exc) from exc
    return [QuotaUsage(q.resource.upper(), int(q.usage), int(q.limit)) for q in quotas]
