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

from . import perms

log = logging.getLogger("mailroom.privileged")
MAX_REQUEST = 4 * 1024 * 1024  # a tested message (2 MB) and script, as JSON
MAX_TEXT = 1000  # an address, a folder or a group name
MAX_SCRIPT = 256 * 1024
MAX_LIST = 2000  # folders in one (un)subscribe
# Rights of an owning group on a shared mailbox's folders (RFC 4314 names, doveadm's spelling).
FULL_RIGHTS = ("lookup", "read", "write", "write-seen", "write-deleted", "insert", "post",
               "expunge", "create", "delete")
SHARED_DICT_PREFIX = "shared/shared-boxes/"
SOCKET_MODE = 0o660


class Refused(Exception):
    """A request the helper will not carry out; the message says why (it goes back to the caller)."""


class Helper:
    """The operations, bound to the stack's configuration and database."""

    def __init__(self, cfg: dict, database) -> None:
        self.database = database
        self.configure(cfg)

    def configure(self, cfg: dict) -> None:
        """Use these settings from now on (the worker rereads them on SIGHUP)."""
        from .layout import Layout

        self.cfg = cfg
        self.layout = Layout.from_config(cfg)
        log.info("privileged helper: settings of %s", self.layout.root)

    # --- checks ---------------------------------------------------------------------

    def _text(self, args: dict, name: str, limit: int = MAX_TEXT) -> str:
        value = args.get(name)
        if not isinstance(value, str) or not value:
            raise Refused(f"{name} must be a non-empty string")
        if len(value) > limit:
            raise Refused(f"{name} is longer than {limit} characters")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise Refused(f"{name} contains control characters")
        return value

    def _address(self, args: dict, kinds: tuple[str, ...] = ("mailbox", "shared")) -> str:
        from core.models import InvalidName, Mailbox, SharedMailbox, normalize_address
        from sqlalchemy import select

        try:
            address = normalize_address(self._text(args, "address"))
        except InvalidName as exc:
            raise Refused(str(exc)) from exc
        models = {"mailbox": Mailbox, "shared": SharedMailbox}
        with self.database.transaction() as session:
            for kind in kinds:
                model = models[kind]
                if session.scalar(select(model.id).where(model.address == address)):
                    return address
        raise Refused(f"{address} is not a {' or '.join(k.replace('shared', 'shared mailbox') for k in kinds)} here")

    def _group(self, args: dict, must_exist: bool = True) -> str:
        from core.models import Group
        from sqlalchemy import select

        name = self._text(args, "group", 64)
        if must_exist:
            with self.database.transaction() as session:
                if session.scalar(select(Group.id).where(Group.name == name)) is None:
                    raise Refused(f"there is no group {name!r}")
        elif not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise Refused(f"{name!r} is not a group name")
        return name

    def _folders(self, args: dict) -> list[str]:
        folders = args.get("folders")
        if not isinstance(folders, list) or not folders or len(folders) > MAX_LIST:
            raise Refused(f"folders must be a list of 1 to {MAX_LIST} names")
        return [self._text({"folder": f}, "folder") for f in folders]

    def _doveadm(self):
        from core.mail.doveadm import Doveadm

        return Doveadm(self.layout.dovecot_run / "doveadm-server", float(self.cfg["MAIL_TIMEOUT"]) * 3)

    # --- operations -------------------------------------------------------------------

    def quota(self, args: dict) -> list[str]:
        """`doveadm quota get` of a mailbox: its fields, five per row."""
        address = self._address(args, ("mailbox",))
        with self._doveadm() as adm:
            return adm.run(address, "quota", "get")

    def kick(self, args: dict) -> bool:
        """End the IMAP/POP3 sessions of a mailbox; False when none was open."""
        from core.mail.doveadm import DoveadmError

        address = self._address(args)
        with self._doveadm() as adm:
            try:
                adm.run("", "kick", "--", address)
            except DoveadmError as exc:
                if exc.code == "NOTFOUND":
                    return False
                raise
        return True

    def folders(self, args: dict) -> list[str]:
        """The folders of a mailbox or shared mailbox (`doveadm mailbox list`)."""
        address = self._address(args)
        with self._doveadm() as adm:
            return adm.run(address, "mailbox", "list")

    def acl_get(self, args: dict) -> list[str]:
        """The ACL of one folder: identifier, global flag, rights, per row."""
        address, folder = self._address(args), self._text(args, "folder")
        with self._doveadm() as adm:
            return adm.run(address, "acl", "get", "--", folder)

    def acl_grant(self, args: dict) -> None:
        """Give an existing group full rights on a folder of a shared mailbox."""
        address, folder = self._address(args, ("shared",)), self._text(args, "folder")
        group = self._group(args)
        with self._doveadm() as adm:
            adm.run(address, "acl", "set", "--", folder, f"group={group}", *FULL_RIGHTS)

    def acl_revoke(self, args: dict) -> bool:
        """Take a group's entry off a folder (the group may be gone); False if it had none."""
        from core.mail.doveadm import DoveadmError

        address, folder = self._address(args), self._text(args, "folder")
        group = self._group(args, must_exist=False)
        with self._doveadm() as adm:
            try:
                adm.run(address, "acl", "delete", "--", folder, f"group={group}")
            except DoveadmError as exc:
                if exc.code == "NOTFOUND":
                    return False
                raise
        return True

    def subscribe(self, args: dict) -> None:
        """Add folders to a mailbox's subscriptions."""
        address, folders = self._address(args, ("mailbox",)), self._folders(args)
        with self._doveadm() as adm:
            adm.run(address, "mailbox", "subscribe", "--", *folders)

    def unsubscribe(self, args: dict) -> None:
        """Remove folders from a mailbox's subscriptions."""
        address, folders = self._address(args, ("mailbox",)), self._folders(args)
        with self._doveadm() as adm:
            adm.run(address, "mailbox", "unsubscribe", "--", *folders)

    def shared_dict(self, args: dict) -> list[str]:
        """Dovecot's shared-mailbox dictionary (who shares with whom): key, value per row."""
        uri = "file:" + str(self.layout.lib / "shared" / "shared-mailboxes.db")
        with self._doveadm() as adm:
            return adm.run("", "dict", "iter", "-R", uri, SHARED_DICT_PREFIX)

    def sieve_test(self, args: dict) -> dict:
        """A dry run of a script for a mailbox against a message, as delivery would run it."""
        from .sieve import DryRunFailed, dry_run

        address = self._address(args, ("mailbox",))
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
        from core.services.spam_filter import map_contents

        from .spam import write_maps

        with self.database.transaction() as session:
            contents = map_contents(session)
        write_maps(self.layout, contents)

    def reload_rspamd(self, args: dict) -> None:
        """Render Rspamd's configuration (thresholds from the database) and reload it."""
        from .spam import reload_rspamd

        reload_rspamd(self.cfg)

    OPERATIONS = ("quota", "kick", "folders", "acl_get", "acl_grant", "acl_revoke", "subscribe",
                  "unsubscribe", "shared_dict", "sieve_test", "publish_spam_rules", "reload_rspamd")

    def handle(self, request: object, caller: str) -> dict:
        """Check and run one decoded request; the answer to send back."""
        if not isinstance(request, dict) or not isinstance(request.get("args", {}), dict):
            return self._refuse(caller, "?", "a request is {\"op\": NAME, \"args\": {...}}")
        op, args = request.get("op"), request.get("args", {})
        if op not in self.OPERATIONS:
            return self._refuse(caller, op, f"unknown operation {str(op)[:40]!r}")
        try:
            result = getattr(self, op)(args)
        except Refused as exc:
            return self._refuse(caller, op, str(exc))
        except Exception as exc:  # noqa: BLE001 - any failure is answered, logged and survived
            log.exception("%s %s failed", caller, op)
            return {"ok": False, "error": f"{op} failed: {exc}"}
        log.info("%s %s done", caller, op)
        return {"ok": True, "result": result}

    @staticmethod
    def _refuse(caller: str, op: object, why: str) -> dict:
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
                answer = helper._refuse(caller, "?", f"request larger than {MAX_REQUEST} bytes")
            else:
                try:
                    answer = helper.handle(json.loads(raw), caller)
                except ValueError:
                    answer = helper._refuse(caller, "?", "the request is not JSON")
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

