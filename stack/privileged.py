"""The privileged helper: the one door through which the unprivileged web app gets root's work done.

It runs in the stack's worker (root) and listens on a Unix socket that only root and
the app's group may open (root:mailroom 0660). Each connection carries one JSON
request, {"op": NAME, "args": {...}}, and gets one JSON answer, {"ok": true,
"result": ...} or {"ok": false, "error": "why"}. Only the operations in OPERATIONS
exist; each checks its arguments against the database first (an address must be a
mailbox or shared mailbox here, a group must exist, a folder name must be plain text)
and every call is logged with the caller's uid. Nothing a request says reaches a
shell, a path or a config file: the helper derives those itself.
"""
from __future__ import annotations

import json
import logging
import socket
import socketserver
import struct
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from . import mailqueue, perms, quota_clone, shares
from .files import write_file

log = logging.getLogger("mailroom.privileged")
MAX_REQUEST = 4 * 1024 * 1024  # a tested message (2 MB) and script, as JSON
MAX_TEXT = 1000  # an address, a folder or a group name
MAX_SCRIPT = 256 * 1024
MAX_LIST = 2000  # folders in one (un)subscribe
MAX_TRACKED = 1000  # messages in one tracking answer
KIND_NAMES = {"mailbox": "a mailbox", "shared": "a shared mailbox", "domain": "an address of our domains"}
SOCKET_MODE = 0o660
# What a sealed mail password of a scheduled message is for (stack/worker/sender.py).
SEND_PURPOSE = "scheduled send"


class Refused(Exception):
    """A request the helper will not carry out; the message says why (it goes back to the caller)."""


class Helper:
    """The operations, bound to the stack's configuration and database."""

    def __init__(self, cfg: dict, database) -> None:
        self.database = database
        # The app changes ACLs after its commit and the reconcile reads the database and
        # then changes them: one at a time, or a pass that read the database just before
        # a commit could undo the change made just after it.
        self.acl_lock = threading.Lock()
        self.configure(cfg)

    def configure(self, cfg: dict) -> None:
        """Use these settings from now on (the worker rereads them on SIGHUP)."""
        from .layout import Layout

        self.cfg = cfg
        self.layout = Layout.from_config(cfg)
        log.info("privileged helper: settings of %s", self.layout.root)

    # --- checks ---------------------------------------------------------------------

    def _text(self, value: object, name: str, limit: int = MAX_TEXT) -> str:
        if not isinstance(value, str) or not value:
            raise Refused(f"{name} must be a non-empty string")
        if len(value) > limit:
            raise Refused(f"{name} is longer than {limit} characters")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise Refused(f"{name} contains control characters")
        return value

    def _list(self, value: object, name: str) -> list:
        if not isinstance(value, list) or len(value) > MAX_LIST:
            raise Refused(f"{name} must be a list of at most {MAX_LIST} items")
        return value

    def _addresses(self, values: list, kinds: tuple[str, ...]) -> list[str]:
        """VALUES normalised, each one a mailbox (or shared mailbox, or of a domain) here."""
        from sqlalchemy import select

        from core.models import Domain, InvalidName, Mailbox, SharedMailbox, normalize_address

        try:
            addresses = [normalize_address(self._text(v, "address")) for v in values]
        except InvalidName as exc:
            raise Refused(str(exc)) from exc
        found: set[str] = set()
        with self.database.transaction() as session:
            if "mailbox" in kinds:
                found |= set(session.scalars(select(Mailbox.address).where(Mailbox.address.in_(addresses))))
            if "shared" in kinds:
                found |= set(session.scalars(select(SharedMailbox.address)
                                             .where(SharedMailbox.address.in_(addresses))))
            if "domain" in kinds:
                ours = set(session.scalars(select(Domain.name)))
                found |= {a for a in addresses if a.partition("@")[2] in ours}
        for address in addresses:
            if address not in found:
                raise Refused(f"{address} is not {' or '.join(KIND_NAMES[k] for k in kinds)}")
        return addresses

    def _address(self, value: object, kinds: tuple[str, ...]) -> str:
        return self._addresses([value], kinds)[0]

    def _groups(self, values: list, must_exist: bool, shared: str = "") -> list[str]:
        """Group names as the ACLs name them; with MUST_EXIST each one a Mailroom group or
        (`ldap:NAME`) a directory group that owns the shared mailbox SHARED."""
        from sqlalchemy import select

        from core.models import Group, SharedDirectoryOwner, SharedMailbox
        from core.models.shared import DIRECTORY_PREFIX, directory_acl_name

        names = [self._text(v, "group", 64 + len(DIRECTORY_PREFIX)) for v in values]
        if must_exist:
            with self.database.transaction() as session:
                known = set(session.scalars(select(Group.name).where(Group.name.in_(names))))
                known |= {directory_acl_name(n) for n in session.scalars(
                    select(SharedDirectoryOwner.group_name).join(SharedMailbox)
                    .where(SharedMailbox.address == shared))}
            for name in names:
                if name not in known:
                    raise Refused(f"there is no group {name!r}")
        return names

    def _doveadm(self):
        from core.mail.doveadm import Doveadm

        return Doveadm(self.layout.dovecot_run / "doveadm-server", float(self.cfg["MAIL_TIMEOUT"]) * 3)

    # --- operations -------------------------------------------------------------------

    def quotas(self, args: dict) -> dict[str, list[str] | None]:
        """`doveadm quota get` of each mailbox: its fields (five per row), None if unknown.

        What is measured also goes into quota_clone's table for the mailboxes Dovecot has
        not copied there yet (stack/quota_clone.py): the dashboard asks only for those.
        """
        from core.mail.doveadm import DoveadmError

        found = {}
        with self._doveadm() as adm:
            for address in self._addresses(self._list(args.get("addresses"), "addresses"), ("mailbox",)):
                try:
                    found[address] = adm.run(address, "quota", "get")
                except DoveadmError as exc:
                    log.warning("no quota for %s: %s", address, exc)
                    found[address] = None
        quota_clone.record(quota_clone.database(self.layout),
                           {a: quota_clone.from_doveadm(f) for a, f in found.items() if f is not None})
        return found

    def kick(self, args: dict) -> bool:
        """End the IMAP/POP3 sessions of an address of our domains; False when none was open.

        The address may be gone from the directory already (a deleted mailbox).
        """
        from core.mail.doveadm import DoveadmError

        address = self._address(args.get("address"), ("domain",))
        with self._doveadm() as adm:
            try:
                adm.run("", "kick", "--", address)
            except DoveadmError as exc:
                if exc.code == "NOTFOUND":
                    return False
                raise
        return True

    def shared_access(self, args: dict) -> None:
        """Give OWNERS full rights on every folder of a shared mailbox and take them from DROPPED.

        People in SUBSCRIBE get its folders in their subscriptions; UNSUBSCRIBE lose them.
        """
        address = self._address(args.get("address"), ("shared",))
        owners = self._groups(self._list(args.get("owners", []), "owners"), True, address)
        dropped = self._groups(self._list(args.get("dropped", []), "dropped"), must_exist=False)
        subscribe = self._addresses(self._list(args.get("subscribe", []), "subscribe"), ("mailbox",))
        unsubscribe = self._addresses(self._list(args.get("unsubscribe", []), "unsubscribe"),
                                      ("mailbox", "domain"))
        with self.acl_lock, self._doveadm() as adm:
            shares.apply_access(adm, address, owners, dropped, subscribe, unsubscribe)

    def reconcile_shares(self, args: dict) -> list[dict]:
        """Make every shared mailbox's ACLs grant exactly what the database says; the repairs.

        E.g. [{'address': 'desk@x', 'folder': 'INBOX', 'found': [...], 'wanted': [...]}].
        A mailbox Dovecot cannot open is logged and skipped; the others are still checked.
        """
        from core.mail.doveadm import DoveadmError
        from core.models.shared import owning_groups, shared_addresses

        with self.database.transaction() as session:
            addresses = shared_addresses(session)
        repairs = []
        with self._doveadm() as adm:
            for address in addresses:
                # One mailbox at a time under the lock (an admin's change waits for one, not
                # for the pass), its owners read afresh inside it.
                with self.acl_lock:
                    with self.database.transaction() as session:
                        owners = owning_groups(session, address)
                    if owners is None:  # removed meanwhile
                        continue
                    try:
                        found = shares.reconcile(adm, address, owners)
                    except DoveadmError as exc:
                        log.warning("cannot check the ACLs of %s: %s", address, exc)
                        continue
                repairs += [{"address": address, **repair} for repair in found]
        return repairs

    def follow_directory_groups(self, groups_by_address: dict[str, list[str]]) -> None:
        """Keep directory users subscribed to the shared mailboxes their directory groups own
        (called by the worker after each read of the directory, not over the socket).

        What was subscribed is kept in a file, so only changes cost doveadm calls: a member
        who joined, an owner an admin added, and the reverse.
        """
        from sqlalchemy import select

        from core.models import SharedDirectoryOwner, SharedMailbox

        with self.database.transaction() as session:
            owned: dict[str, set[str]] = {}
            for group, address in session.execute(select(SharedDirectoryOwner.group_name, SharedMailbox.address)
                                                  .join(SharedMailbox)):
                owned.setdefault(group, set()).add(address)
        wanted = {person: boxes for person, names in groups_by_address.items()
                  if (boxes := set().union(*(owned.get(n, set()) for n in names)))}
        state = self.layout.lib / "shared" / "directory-subscriptions.json"
        try:
            had = {p: set(b) for p, b in json.loads(state.read_text(encoding="utf-8")).items()}
        except (FileNotFoundError, ValueError, AttributeError):  # none yet, or damaged: sync all
            had = {}
        if wanted == had:
            return
        with self.acl_lock, self._doveadm() as adm:
            done = shares.follow_members(adm, wanted, had)
        write_file(state, json.dumps({p: sorted(b) for p, b in sorted(done.items())}), 0o600)

    def user_shares(self, args: dict) -> list[dict]:
        """Folders that people shared with SETACL from any IMAP client, with their grants."""
        uri = "file:" + str(self.layout.lib / "shared" / "shared-mailboxes.db")
        with self._doveadm() as adm:
            return shares.shared_by_users(adm, uri)

    def sieve_test(self, args: dict) -> dict:
        """A dry run of a script for a mailbox against a message, as delivery would run it."""
        from .sieve import DryRunFailed, dry_run

        address = self._address(args.get("address"), ("mailbox",))
        script = args.get("script")
        message = args.get("message")
        if not isinstance(script, str) or len(script) > MAX_SCRIPT:
            raise Refused(f"script must be text of at most {MAX_SCRIPT} characters")
        if not isinstance(message, str) or len(message) > MAX_REQUEST:
            raise Refused("message must be text (latin-1 of its bytes)")
        try:
            run = dry_run(self.layout, address, script, message.encode("latin-1"),
                          bool(args.get("with_before", True)))
        except DryRunFailed as exc:
            return {"failed": str(exc), "line": exc.line, "unavailable": exc.unavailable}
        return {"run": asdict(run)}

    def publish_spam_rules(self, args: dict) -> None:
        """Write the Block/Allow map files Rspamd rereads, from the database's rules."""
        from core.models.spam import map_contents

        from .spam import write_maps

        with self.database.transaction() as session:
            contents = map_contents(session)
        write_maps(self.layout, contents)

    def reload_rspamd(self, args: dict) -> None:
        """Render Rspamd's configuration (thresholds from the database) and reload it."""
        from .manager import reload_rspamd

        reload_rspamd(self.cfg)

    def apply_server_settings(self, args: dict) -> str:
        """Render Postfix's, Dovecot's and Rspamd's files with the server settings from the
        database, have their checkers read them first, and reload the daemon(s) whose files
        changed; what was done."""
        from .manager import apply_server_settings

        if args:
            raise Refused("apply_server_settings takes no arguments: it reads the database")
        return apply_server_settings(self.cfg)

    def seal_smarthost_password(self, args: dict) -> str:
        """Seal the smarthost's PASSWORD for HOST:PORT with the helper's key, which only root
        reads; the blob (text) the app stores. It came over this socket, never in an argv,
        and only this helper opens it again, to render Postfix's password file."""
        from .quoting import HOSTNAME
        from .smarthost import MAX_PASSWORD, seal

        host, port = self._text(args.get("host"), "host", 253), args.get("port")
        if not HOSTNAME.match(host):
            raise Refused("host must be a host name or IPv4 address")
        if type(port) is not int or not 0 < port < 65536:
            raise Refused("port must be a number from 1 to 65535")
        password = self._text(args.get("password"), "password", MAX_PASSWORD)
        return seal(self.layout, host, port, password)

    def seal_send_credential(self, args: dict) -> str:
        """Seal a mailbox's mail PASSWORD for sending its scheduled messages (Send later,
        Undo): bound to ADDRESS, opened only by this process's scheduled sender
        (stack/worker/sender.py) to sign in to submission as that person."""
        from .secretfiles import seal_fields

        address = self._address(args.get("address"), ("mailbox",))
        password = self._text(args.get("password"), "password", MAX_TEXT)
        return seal_fields(self.layout, {"purpose": SEND_PURPOSE, "address": address,
                                         "password": password})

    def dkim_key(self, args: dict) -> dict:
        """Read, create ("ensure") or remove the DKIM key of a domain of ours.

        The answer is the selector, the base64 public key (None when there is no key) and
        whether the key was created now. A key is removed only while signing is off.
        """
        from sqlalchemy import select

        from core.models import Domain, InvalidName, normalize_domain

        from . import dkim

        action = args.get("action")
        if action not in ("read", "ensure", "remove"):
            raise Refused("action must be read, ensure or remove")
        try:
            name = normalize_domain(self._text(args.get("domain"), "domain"))
        except InvalidName as exc:
            raise Refused(str(exc)) from exc
        with self.database.transaction() as session:
            domain = session.scalar(select(Domain).where(Domain.name == name))
            if domain is None:
                raise Refused(f"{name} is not a domain of ours")
            signing = domain.dkim_enabled
        created = action == "ensure" and dkim.ensure_key(self.layout, name)
        if action == "remove":
            if signing:
                raise Refused(f"DKIM signing is on for {name}: turn it off before removing its key")
            dkim.remove_key(self.layout, name)
        return {"selector": dkim.SELECTOR, "public_key": dkim.public_key(self.layout, name),
                "created": created}

    # --- Postfix's queue (stack/mailqueue.py): only checked queue ids reach its tools ---

    def _queue_id(self, value: object) -> str:
        if not mailqueue.valid_queue_id(value):
            raise Refused(f"{str(value)[:40]!r} is not a Postfix queue id")
        return value

    def queue_list(self, args: dict) -> dict:
        """A page of the queue (`postqueue -j`), filtered by text in the sender or a recipient."""
        sender, recipient = args.get("sender", ""), args.get("recipient", "")
        offset, limit = args.get("offset", 0), args.get("limit", 50)
        if not all(isinstance(v, str) and len(v) <= MAX_TEXT for v in (sender, recipient)):
            raise Refused(f"sender and recipient must be text of at most {MAX_TEXT} characters")
        if not all(type(v) is int and 0 <= v <= 10**7 for v in (offset, limit)):
            raise Refused("offset and limit must be whole numbers")
        return mailqueue.page(self.layout, sender, recipient, offset, min(limit, MAX_LIST))

    def queue_counts(self, args: dict) -> dict[str, int]:
        """How many messages each queue holds (its files counted: cheap for the dashboard)."""
        return mailqueue.queue_files(self.layout)

    def queue_headers(self, args: dict) -> str | None:
        """A queued message's headers (`postcat -hq ID`); None when it is not queued."""
        return mailqueue.headers(self.layout, self._queue_id(args.get("queue_id")))

    def queue_flush(self, args: dict) -> bool:
        """Attempt delivery now: of QUEUE_ID (False when it is not queued), or with none, of all."""
        if args.get("queue_id") is None:
            mailqueue.flush(self.layout)
            return True
        queue_id = self._queue_id(args.get("queue_id"))
        if not mailqueue.queued(self.layout, queue_id):
            return False
        mailqueue.flush(self.layout, queue_id)
        return True

    def queue_delete(self, args: dict) -> int:
        """Delete QUEUE_ID, or with "all", every message (while the queue holds "expected"
        messages, if given); how many were deleted (0: it was not queued)."""
        if args.get("all") is True:
            expected = args.get("expected")
            if expected is not None and type(expected) is not int:
                raise Refused("expected must be a whole number")
            try:
                return mailqueue.delete_all(self.layout, expected)
            except mailqueue.QueueChanged as exc:
                raise Refused(str(exc)) from exc
        return mailqueue.delete(self.layout, [self._queue_id(args.get("queue_id"))])

    def track(self, args: dict) -> list[dict]:
        """Messages of the mail log that QUERY names (a queue id, Message-ID, sender or
        recipient; '' for all) from SINCE (ISO) on, newest first, at most LIMIT.

        With SENDERS (addresses of our domains) only messages sent from one of them: the
        app asks so for a person who is not a server admin, and nothing else leaves here.
        """
        from . import maillog

        query = args.get("query", "")
        if not isinstance(query, str) or len(query) > MAX_TEXT:
            raise Refused(f"query must be text of at most {MAX_TEXT} characters")
        senders = args.get("senders")
        if senders is not None:
            senders = self._addresses(self._list(senders, "senders"), ("domain",))
        limit = args.get("limit", 200)
        if not isinstance(limit, int) or not 0 < limit <= MAX_TRACKED:
            raise Refused(f"limit must be a number from 1 to {MAX_TRACKED}")
        found = maillog.track(self.layout, query, self._since(args.get("since")), senders, limit)
        return [tracked.as_json() for tracked in found]

    def mail_counts(self, args: dict) -> dict:
        """Messages received, sent and rejected since SINCE (ISO), from the mail log."""
        from . import maillog

        return maillog.tally(self.layout, self._since(args.get("since"), required=True)).__dict__

    def _since(self, value: object, required: bool = False):
        from datetime import datetime

        if value in (None, "") and not required:
            return None
        try:
            since = datetime.fromisoformat(self._text(value, "since", 40))
        except ValueError as exc:
            raise Refused(f"since must be an ISO date and time: {value!r}") from exc
        # The logs carry this machine's local time, without a zone.
        return since.astimezone().replace(tzinfo=None) if since.tzinfo else since

    OPERATIONS = ("quotas", "kick", "shared_access", "reconcile_shares", "user_shares",
                  "sieve_test", "publish_spam_rules", "reload_rspamd", "apply_server_settings",
                  "dkim_key", "queue_list", "queue_counts", "queue_headers", "queue_flush",
                  "queue_delete", "track", "mail_counts", "seal_smarthost_password",
                  "seal_send_credential")

    def handle(self, request: object, caller: str) -> dict:
        """Check and run one decoded request; the answer to send back."""
        if not isinstance(request, dict) or not isinstance(request.get("args", {}), dict):
            return refusal(caller, "?", "a request is {\"op\": NAME, \"args\": {...}}")
        op, args = request.get("op"), request.get("args", {})
        if op not in self.OPERATIONS:
            return refusal(caller, op, f"unknown operation {str(op)[:40]!r}")
        from core.mail.errors import ServiceUnavailable

        try:
            result = getattr(self, op)(args)
        except Refused as exc:
            return refusal(caller, op, str(exc))
        except ServiceUnavailable as exc:  # a daemon is down: the app's page names it
            log.warning("%s %s: %s", caller, op, exc)
            return {"ok": False, "error": exc.detail or str(exc), "unavailable": exc.service}
        except Exception as exc:  # noqa: BLE001 - any failure is answered, logged and survived
            log.exception("%s %s failed", caller, op)
            return {"ok": False, "error": f"{op} failed: {exc}"}
        log.info("%s %s done", caller, op)
        return {"ok": True, "result": result}


def refusal(caller: str, op: object, why: str) -> dict:
    """The answer to a request the helper will not carry out, logged with its caller."""
    log.warning("%s %s refused: %s", caller, str(op)[:40], why)
    return {"ok": False, "error": why}


def _peer(sock: socket.socket) -> str:
    """'uid 1001 pid 4242' of the process at the other end (SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, _gid = struct.unpack("3i", creds)
    return f"uid {uid} pid {pid}"


def _handler(helper: Helper) -> type:
    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            caller = _peer(self.request)
            raw = self.rfile.read(MAX_REQUEST + 1)
            if len(raw) > MAX_REQUEST:
                answer = refusal(caller, "?", f"request larger than {MAX_REQUEST} bytes")
            else:
                try:
                    answer = helper.handle(json.loads(raw), caller)
                except ValueError:
                    answer = refusal(caller, "?", "the request is not JSON")
            self.wfile.write(json.dumps(answer).encode() + b"\n")

    return Handler


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve_in_thread(path: Path, helper: Helper, group: str) -> Callable[[], None]:
    """Listen on PATH (root:GROUP 0660) in a background thread; return a function that stops it."""
    path.unlink(missing_ok=True)
    server = _Server(str(path), _handler(helper))
    perms.set_owner(path, SOCKET_MODE, None, group)
    threading.Thread(target=server.serve_forever, name="privileged", daemon=True).start()
    log.info("privileged helper listening on %s (group %s)", path, group)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        path.unlink(missing_ok=True)

    return stop


def socket_path(layout) -> Path:
    """Where the helper listens: next to the stack's pid records."""
    return layout.records / "privileged.sock"


def app_group() -> str:
    """The group the web app runs in: `mailroom` once that user exists, else root's."""
    import grp

    try:
        grp.getgrnam(perms.APP_USER)
    except KeyError:
        return "root"
    return perms.APP_USER

