"""The dry-run tester: what the server's Sieve would do with one message, rule by rule.

It runs Pigeonhole's own `sieve-test` with the stack's Dovecot configuration, the
server's before-scripts and the person's userdb settings, so the answer comes from the
same interpreter and settings as delivery; no action is carried out.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from core.i18n import N_
from core.i18n import lazy_gettext as _l
from core.i18n import lazy_number
from core.mail import actions, listing
from core.mail.errors import ImapError, ServiceUnavailable
from core.mail.sieve import ScriptRejected, SieveStore
from core.mail.sieve_rules import NAME_PREFIX
from core.services.errors import InvalidInput, ServiceError
from core.services.server import mailstore
from stack.sieve import MAIN_SCRIPT, DryRun

from .validation import InvalidField

MAX_MESSAGE = 2 * 1024 * 1024
# What the server's own before-scripts are called on the page.
BEFORE_NAMES = {"10-mailroom-junk": "Spam to Junk (Spam & Junk settings)",
                "20-mailroom-forward": "Forwarding (Forwarding settings)"}


class TesterUnavailable(ServiceError):
    """sieve-test could not run (Dovecot down, or the privileged helper could not start it)."""


@dataclass
class RuleOutcome:
    """One rule of the tested script, e.g. RuleOutcome('Invoices', 'matched', ['fileinto action'])."""

    name: str
    state: str  # matched | no match | not reached | off
    steps: list[str] = field(default_factory=list)


@dataclass
class Report:
    """The tester's answer for one message."""

    script: str | None
    rules: list[RuleOutcome]
    before: list[tuple[str, list[str]]]
    actions: list[str]
    keep: list[str]
    trace: str

    @property
    def outcome(self) -> list[str]:
        """Everything that would happen, as sentences, e.g. ['Store message in folder: Bills']."""
        lines = []
        for text in [*self.actions, *self.keep]:
            text = _l("Keep it in the Inbox") if text.startswith("keep") else text
            lines.append(text[:1].upper() + text[1:])
        return lines


def message_bytes(text: str) -> bytes:
    """A pasted message as bytes with CRLF line ends; InvalidField when empty or too large."""
    text = (text or "").strip("\r\n")
    if not text.strip():
        raise InvalidField("message", _l("Paste a message (its headers, a blank line, then its text)."))
    raw = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8") + b"\r\n"
    if len(raw) > MAX_MESSAGE:
        raise InvalidField("message", _l('The message is %(raw)s bytes; the tester takes up to '
                                         '%(max_message)s bytes.',
                                         raw=lazy_number(len(raw)), max_message=lazy_number(MAX_MESSAGE)))
    return raw


def recent_messages(client: IMAPClient, folder: str, limit: int = 30) -> list[listing.Summary]:
    """The newest LIMIT messages of FOLDER, newest first, to pick one for a test."""
    info = listing.select(client, folder, readonly=True)
    if not info.get(b"EXISTS"):
        return []
    try:
        uids = client.search(["ALL"])[-limit:]
    except IMAPClientError as exc:
        raise ImapError(str(exc)) from exc
    return list(reversed(listing.fetch_summaries(client, uids, preview=False)))


def picked_message(client: IMAPClient, folder: str, uid: int) -> bytes:
    """The raw message UID of FOLDER (read without marking it read)."""
    listing.select(client, folder, readonly=True)
    return actions.raw_message(client, uid)


def run(config: dict, store: SieveStore, address: str, message: bytes,
        script: str | None = None) -> Report:
    """Test MESSAGE against SCRIPT (default: the active one) for ADDRESS on CONFIG's stack."""
    scripts = store.listing()
    name = script or scripts.active
    if name and name not in scripts.names:
        raise InvalidInput(_l('There is no script %(name)s.', name=f"{name!r}"))
    text = store.get(name) if name else ""
    # sieve-test runs as the mail user: the privileged helper starts it (latin-1 carries
    # the message's bytes through JSON unchanged).
    answer = mailstore.call(config, "sieve_test", address=address, script=text,
                            message=message.decode("latin-1"))
    if "failed" in answer:
        if answer["line"]:
            raise ScriptRejected(answer["failed"], answer["line"])
        if answer["unavailable"]:
            raise ServiceUnavailable(N_("Dovecot user database (for sieve-test)"), answer["failed"])
        raise TesterUnavailable(_l('The tester could not run: %(failed)s', failed=answer['failed']))
    return _report(name, text, DryRun.from_json(answer["run"]))


def _blocks(text: str) -> list[tuple[str, int, int, bool]]:
    """(name, first line, last line, switched off) of each named block of TEXT."""
    lines = text.replace("\r\n", "\n").split("\n")
    starts = [(i + 1, line[len(NAME_PREFIX):]) for i, line in enumerate(lines)
              if line.startswith(NAME_PREFIX)]
    blocks = []
    for n, (start, name) in enumerate(starts):
        end = starts[n + 1][0] - 1 if n + 1 < len(starts) else len(lines)
        first = lines[start] if start < len(lines) else ""
        blocks.append((name, start + 1, end, first.strip().startswith("if false")))
    return blocks


def _report(name: str | None, text: str, result: DryRun) -> Report:
    # A before-script that ends with `stop` (spam to Junk) means the rules never run.
    stopped = all(r.name != MAIN_SCRIPT for r in result.scripts)
    main = result.script(MAIN_SCRIPT)
    outcomes = []
    for block, first, last, off in _blocks(text):
        steps = [what for line, whats in sorted(main.steps.items()) if first <= line <= last
                 for what in whats]
        state = ("off" if off else "not reached" if stopped else
                 "matched" if steps else "no match")
        stopped = stopped or any(s.startswith("stop") for s in steps)
        outcomes.append(RuleOutcome(block, state, steps))
    before = [(BEFORE_NAMES.get(r.name, r.name), r.actions) for r in result.scripts
              if r.name != MAIN_SCRIPT]
    actions = [a for r in result.scripts for a in r.actions]
    return Report(name, outcomes, before, actions, result.implicit_keep, result.trace)
