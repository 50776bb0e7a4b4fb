"""Attachments of messages being written, kept on disk until the message is sent.

Each compose form has a workspace DATA_DIR/uploads/<web session id>/<compose id>/
holding the uploaded files (under random names), their metadata, and the form's
state (the UID of its current draft, whether it was sent). Nothing of it goes into
the cookie. Files are streamed to disk in chunks, never read whole from the request.

The disk is guarded three ways: a workspace exists only once the server issued its id
(opening a form creates it; a made-up id finds nothing), a session keeps at most
MAX_FORMS of them (the oldest without attachments go first), and a person's uploads
across all forms and sign-ins stay within UPLOAD_QUOTA_MB. The worker removes the
workspaces of ended sessions and those untouched for two days (purge).
"""
from __future__ import annotations

import fcntl
import json
import logging
import mimetypes
import os
import re
import secrets
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from core.i18n import lazy_gettext as _l
from core.mail.mime import safe_filename
from core.services.errors import InvalidInput, NotFound

log = logging.getLogger(__name__)

TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
CHUNK = 64 * 1024
STATE_FILE = "compose.json"
LOCK_FILE = ".lock"
# Room for headers, the text and MIME boundaries within the server's size limit.
HEADROOM = 256 * 1024
MIB = 1024 * 1024
MAX_FORMS = 50  # workspaces of one web session (compose forms opened)
STALE_SECONDS = 2 * 86400


class TooLarge(InvalidInput):
    """The attachments would make the message larger than the mail server accepts."""


@dataclass(frozen=True)
class Upload:
    """One stored attachment, e.g. Upload('k3J…', 'report.pdf', 'application/pdf', 48213)."""

    id: str
    filename: str
    content_type: str
    size: int
    created: int = 0


def encoded_size(size: int) -> int:
    """Bytes SIZE bytes take in a message: base64 (RFC 2045 §6.8) plus a CRLF per 76 characters."""
    chars = 4 * -(-size // 3)
    return chars + 2 * -(-chars // 76)


def attachment_budget(limit_mb: int) -> int:
    """How many raw bytes of attachments fit in a message of at most LIMIT_MB MiB."""
    room = max(0, limit_mb * MIB - HEADROOM)
    return room // 78 * 57  # 57 raw bytes become one 76-character line plus CRLF


def too_large_text(limit_mb: int) -> str:
    """The sentence shown when attachments do not fit."""
    budget = attachment_budget(limit_mb) / MIB
    return (_l('The attachments would make the message larger than %(limit_mb)s MB, the most the '
               'mail server accepts. Attachments grow by about a third when sent, so together they '
               'can be at most %(budget)s MB.', limit_mb=limit_mb, budget=f"{budget:.1f}"))


def clean_filename(name: str) -> str:
    r"""A harmless base name: r'C:\x\a.pdf' -> 'a.pdf' (the rules of mime.safe_filename)."""
    return safe_filename(name, "attachment")


def guess_type(filename: str) -> str:
    """The Content-Type for FILENAME by its extension (application/octet-stream if unknown)."""
    return mimetypes.guess_type(filename, strict=False)[0] or "application/octet-stream"


def issue(data_dir: str | Path, session_id: str) -> "Workspace":
    """A new workspace for one compose form of SESSION_ID (its id is random and ours)."""
    session = _session_dir(data_dir, session_id)
    session.mkdir(parents=True, exist_ok=True, mode=0o700)
    _prune_forms(session, keep=MAX_FORMS - 1)
    workspace = Workspace(data_dir, session_id, secrets.token_urlsafe(16), issued=False)
    workspace.path.mkdir(mode=0o700)
    return workspace


def _prune_forms(session: Path, keep: int) -> None:
    """Remove the oldest workspaces without attachments until at most KEEP remain."""
    spaces = sorted(session.iterdir(), key=lambda p: p.stat().st_mtime)
    excess = len(spaces) - keep
    for space in spaces:
        if excess <= 0:
            break
        if not any(space.glob("*.bin")):
            shutil.rmtree(space, ignore_errors=True)
            excess -= 1


def _session_dir(data_dir: str | Path, session_id: str) -> Path:
    if not TOKEN.match(session_id or ""):
        raise NotFound(_l("This message form has expired; open a new one."))
    return Path(data_dir) / "uploads" / session_id


def person_bytes(data_dir: str | Path, session_ids: list[str]) -> int:
    """Bytes of attachments waiting in every workspace of these sessions (one person's)."""
    return sum(path.stat().st_size for session_id in session_ids if TOKEN.match(session_id)
               for path in (Path(data_dir) / "uploads" / session_id).glob("*/*.bin"))


def check_person(data_dir: str | Path, session_ids: list[str], length: int, quota_mb: int) -> None:
    """TooLarge when LENGTH more bytes would take a person's waiting uploads over QUOTA_MB."""
    if person_bytes(data_dir, session_ids) + length > quota_mb * MIB:
        raise TooLarge(_l('Your attachments waiting in unsent messages would take up more than '
                          '%(quota_mb)s MB: send or discard some of those messages first.',
                          quota_mb=quota_mb))


class Workspace:
    """The server-side files of one message being written."""

    def __init__(self, data_dir: str | Path, session_id: str, compose_id: str,
                 issued: bool = True) -> None:
        """The workspace COMPOSE_ID of SESSION_ID; NotFound unless the server issued it."""
        if not TOKEN.match(compose_id or ""):
            raise NotFound(_l("This message form has expired; open a new one."))
        self.compose_id = compose_id
        self.path = _session_dir(data_dir, session_id) / compose_id
        if issued and not self.path.is_dir():
            raise NotFound(_l("This message form has expired; open a new one."))

    def _ensure(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Serialise changes to this workspace (draft saves race with sends and beacons)."""
        self._ensure()
        with open(self.path / LOCK_FILE, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def state(self) -> dict:
        """The saved state: {'draft_uid': 12, 'sent': False}, empty when new."""
        try:
            return json.loads((self.path / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def update_state(self, **values) -> None:
        """Merge VALUES into the saved state."""
        self._ensure()
        state = {**self.state(), **values}
        tmp = self.path / f"{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.path / STATE_FILE)

    def uploads(self) -> list[Upload]:
        """The stored attachments, oldest first."""
        found = []
        for meta in self.path.glob("*.json") if self.path.is_dir() else ():
            if meta.name == STATE_FILE:
                continue
            try:
                found.append(Upload(**json.loads(meta.read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError):
                log.warning("unreadable upload metadata %s", meta)
        return sorted(found, key=lambda u: (u.created, u.id))

    def total(self) -> int:
        """Raw bytes of all stored attachments."""
        return sum(u.size for u in self.uploads())

    def check_room(self, length: int, limit_mb: int) -> int:
        """TooLarge when LENGTH more bytes would not fit; returns the bytes stored so far."""
        stored = self.total()
        if stored + length > attachment_budget(limit_mb):
            raise TooLarge(too_large_text(limit_mb))
        return stored

    def add_stream(self, stream: BinaryIO, filename: str, limit_mb: int,
                   length: int | None = None) -> Upload:
        """Store STREAM as FILENAME in chunks; TooLarge before reading when LENGTH says so."""
        budget = attachment_budget(limit_mb)
        stored = self.check_room(length or 0, limit_mb)
        self._ensure()
        upload_id = secrets.token_urlsafe(12)
        partial = self.path / f"{upload_id}.part"
        size = 0
        try:
            with open(partial, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if stored + size > budget:
                        raise TooLarge(too_large_text(limit_mb))
                    out.write(chunk)
            with self.lock():
                if self.total() + size > budget:  # another upload finished meanwhile
                    raise TooLarge(too_large_text(limit_mb))
                return self._commit(partial, upload_id, clean_filename(filename), None, size)
        finally:
            partial.unlink(missing_ok=True)

    def add_bytes(self, data: bytes, filename: str, content_type: str | None = None) -> Upload:
        """Store DATA (an attachment of a forwarded message or of a reopened draft)."""
        self._ensure()
        upload_id = secrets.token_urlsafe(12)
        partial = self.path / f"{upload_id}.part"
        partial.write_bytes(data)
        try:
            return self._commit(partial, upload_id, clean_filename(filename), content_type,
                                len(data))
        finally:
            partial.unlink(missing_ok=True)

    def _commit(self, partial: Path, upload_id: str, filename: str, content_type: str | None,
                size: int) -> Upload:
        upload = Upload(upload_id, filename, content_type or guess_type(filename), size,
                        time.time_ns())
        os.replace(partial, self.path / f"{upload_id}.bin")
        (self.path / f"{upload_id}.json").write_text(json.dumps(asdict(upload)), encoding="utf-8")
        return upload

    def read(self, upload_id: str) -> bytes:
        """The bytes of upload UPLOAD_ID."""
        if not TOKEN.match(upload_id or ""):
            raise NotFound(_l("There is no such attachment."))
        try:
            return (self.path / f"{upload_id}.bin").read_bytes()
        except OSError as exc:
            raise NotFound(_l("There is no such attachment.")) from exc

    def remove(self, upload_id: str) -> bool:
        """Delete one attachment; False when it was not there."""
        if not TOKEN.match(upload_id or ""):
            return False
        existed = (self.path / f"{upload_id}.json").exists()
        for suffix in (".json", ".bin"):
            (self.path / f"{upload_id}{suffix}").unlink(missing_ok=True)
        return existed

    def clear(self) -> None:
        """Delete every attachment, keeping the state (a late autosave must see 'sent')."""
        for upload in self.uploads():
            self.remove(upload.id)

    def discard(self) -> None:
        """Delete the whole workspace."""
        shutil.rmtree(self.path, ignore_errors=True)


def purge(data_dir: str | Path, live_sessions: set[str],
          max_age_seconds: float = STALE_SECONDS) -> int:
    """Delete the workspaces of sessions not in LIVE_SESSIONS and those untouched for
    MAX_AGE_SECONDS (the worker calls this); returns how many went."""
    root = Path(data_dir) / "uploads"
    cutoff = time.time() - max_age_seconds
    removed = 0
    for session_dir in root.iterdir() if root.is_dir() else ():
        for space in session_dir.iterdir() if session_dir.is_dir() else ():
            if session_dir.name not in live_sessions or _newest(space) < cutoff:
                shutil.rmtree(space, ignore_errors=True)
                removed += 1
        if session_dir.is_dir() and not any(session_dir.iterdir()):
            session_dir.rmdir()
    return removed


def _newest(space: Path) -> float:
    """The latest change inside SPACE (its own time when empty; 0 when it is gone)."""
    try:
        return max((p.stat().st_mtime for p in space.iterdir()), default=space.stat().st_mtime)
    except OSError:
        return 0.0


def discard_session(data_dir: str | Path, session_id: str) -> None:
    """Delete every workspace of web session SESSION_ID (to be called at sign-out)."""
    if TOKEN.match(session_id or ""):
        shutil.rmtree(Path(data_dir) / "uploads" / session_id, ignore_errors=True)
