"""Message tracking: the Postfix (and Rspamd) log read back into one timeline per message.

Postfix logs one line per step, keyed by queue id, e.g.

    Dec 04 22:35:50 mail postfix/submission/smtpd[27026]: 2EA1C2617F0: client=unknown[127.0.0.1], sasl_method=PLAIN, sasl_username=ann@example.test
    Dec 04 22:35:50 mail postfix/cleanup[27171]: 2EA1C2617F0: message-id=<…@mail.example.test>
    Dec 04 22:35:50 mail postfix/qmgr[27023]: 2EA1C2617F0: from=<ann@example.test>, size=566, nrcpt=1 (queue active)
    Dec 04 22:35:50 mail postfix/smtp[27174]: 2EA1C2617F0: to=<bob@far.test>, relay=…, dsn=2.0.0, status=sent (250 OK)
    Dec 04 22:35:50 mail postfix/qmgr[27023]: 2EA1C2617F0: removed

and Rspamd one summary line per scan with the queue id its milter saw
(`rspamd_task_write_log: id: <MESSAGE-ID>, qid: <QID>, … (default: F (no action): [-0.10/15.00] [SYMBOLS])`).
Submitted mail passes the disclaimer filter and comes back on the re-injection port
as a second queue file with the same Message-ID: the two are one message here.
Pure parsing, no files: stack/maillog_files.py feeds it lines.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Iterator

MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
# postlogd and classic syslog: "Dec 04 22:35:50 host postfix/x[pid]: text"; rsyslog's
# RFC 3339 form: "2026-12-04T22:35:50.123456+00:00 host postfix/x[pid]: text".
PROGRAM = r" \S+ (?P<prog>postfix[\w/.-]*)\[(?P<pid>\d+)\]: (?P<text>.*)"  # host, program[pid]: text
SYSLOG = re.compile(r"(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<hms>\d\d:\d\d:\d\d)" + PROGRAM)
RFC3339 = re.compile(r"(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\S*" + PROGRAM)
# Short queue ids (hex) and long ones (enable_long_queue_ids).
QUEUE_ID = re.compile(r"(?P<qid>[0-9A-F]{6,12}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,20}z[0-9A-Za-z]{5,}): (?P<rest>.*)")
CLIENT = re.compile(r"client=(?P<client>[^,]+)(?:, sasl_method=(?P<method>[^,]+), "
                    r"sasl_username=(?P<user>.+))?")
DELIVERY = re.compile(r"to=<(?P<to>[^>]*)>, (?:orig_to=<(?P<orig>[^>]*)>, )?relay=(?P<relay>[^,]+), "
                      r".*?dsn=(?P<dsn>[\d.]+), status=(?P<status>\w+) (?P<reply>.*)")
QUEUED = re.compile(r"from=<(?P<sender>[^>]*)>, size=(?P<size>\d+), nrcpt=(?P<nrcpt>\d+)")
REJECT = re.compile(r"(?:milter-)?reject: (?P<stage>\S+) from (?P<client>\S+): (?P<reply>.*?);"
                    r" from=<(?P<sender>[^>]*)>(?: to=<(?P<to>[^>]*)>)?")
TLS = re.compile(r"(?:Anonymous|Trusted|Verified|Untrusted) TLS connection established from \S+: "
                 r"(?P<tls>\S+ with cipher \S+)")
QUEUED_AS = re.compile(r"queued as (?P<qid>[0-9A-Za-z]{6,})")
RSPAMD = re.compile(r"(?P<date>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) .*rspamd_task_write_log: "
                    r"id: <(?P<mid>[^>]*)>, qid: <(?P<qid>[^>]*)>, .*?\(\w+: [TFS] "
                    r"\((?P<action>[^)]*)\): \[(?P<score>-?[\d.]+)/(?P<limit>-?[\d.]+)\] "
                    r"\[(?P<symbols>.*?)\]\)")
SYMBOL = re.compile(r"([A-Z0-9_]+)\((-?[\d.]+)\)\{")
TOP_SYMBOLS = 5
# Lines about a queue file worth showing as they are (bounce, postsuper, a header rule).
NOTICES = ("sender non-delivery notification", "placed on hold", "released from hold",
           "requeued", "hold:")
# Worst first: what a message with recipients in several states is called.
PENDING, FINAL = ("deferred",), ("bounced", "expired")


@dataclass
class Event:
    """One step of a message's path, e.g. Event('2026-12-04T22:35:50', 'queued', 'from …')."""

    time: str
    stage: str
    detail: str


@dataclass(eq=False)  # two messages are never "equal": each is itself
class Tracked:
    """One message as the log tells it; `queue_ids` holds its re-injected copies too."""

    queue_id: str
    message_id: str = ""
    sender: str = ""
    recipients: dict[str, str] = field(default_factory=dict)  # address -> its last status
    events: list[Event] = field(default_factory=list)
    queue_ids: list[str] = field(default_factory=list)
    service: str = ""  # which smtpd took it in: smtpd, submission/smtpd, reinject/smtpd, …
    auth_user: str = ""
    rejected: bool = False
    removed: bool = False
    deleted: bool = False  # by an admin (postsuper -d), whatever its recipients' state

    @property
    def status(self) -> str:
        """rejected, deleted, deferred, bounced, expired, delivered (a mailbox here), relayed,
        removed or queued."""
        if self.rejected:
            return "rejected"
        if self.deleted:
            return "deleted"
        states = set(self.recipients.values())
        for state in (*PENDING, *FINAL):
            if state in states:
                return state
        if states and states <= {"delivered"}:
            return "delivered"
        if states and states <= {"delivered", "relayed"}:
            return "relayed"
        return "removed" if self.removed else "queued"

    @property
    def started(self) -> str:
        return self.events[0].time if self.events else ""

    def as_json(self) -> dict:
        """The CLI's and the helper's form of it."""
        return {"queue_id": self.queue_id, "queue_ids": self.queue_ids,
                "message_id": self.message_id, "sender": self.sender,
                "recipients": [{"address": a, "status": s} for a, s in self.recipients.items()],
                "auth_user": self.auth_user, "status": self.status,
                "events": [e.__dict__ for e in self.events]}


@dataclass(frozen=True)
class Line:
    """One Postfix log line taken apart."""

    time: datetime
    program: str  # e.g. "postfix/submission/smtpd"
    pid: str
    text: str


def parse_line(raw: str, year: int, stamps: dict | None = None) -> Line | None:
    """RAW as a Line (YEAR for the syslog form, which has none); None if not Postfix's.

    STAMPS caches the times of syslog stamps already seen (a busy second has many lines)."""
    match = SYSLOG.match(raw)
    if match:
        stamp = (year, match["mon"], match["day"], match["hms"])
        when = stamps.get(stamp) if stamps is not None else None
        if when is None:
            when = _syslog_time(*stamp)
            if when is None:
                return None
            if stamps is not None:
                stamps[stamp] = when
        return Line(when, match["prog"], match["pid"], match["text"])
    match = RFC3339.match(raw)
    if match:
        return Line(datetime.fromisoformat(match["iso"]), match["prog"], match["pid"], match["text"])
    return None


def _syslog_time(year: int, mon: str, day: str, hms: str) -> datetime | None:
    month = MONTHS.get(mon)
    hour, minute, second = (int(x) for x in hms.split(":"))
    try:
        return datetime(year, month, int(day), hour, minute, second) if month else None
    except ValueError:
        return None


def year_of(line: str, newest: datetime) -> int:
    """The year of a syslog-form LINE from a file last written at NEWEST.

    A line dated in a later month than NEWEST was written the year before (a file
    written across New Year)."""
    month = MONTHS.get(line[:3], 0)
    return newest.year - 1 if month > newest.month else newest.year


class Tracker:
    """Builds Tracked messages from Postfix lines fed in order, then Rspamd's verdicts."""

    def __init__(self) -> None:
        self.by_qid: dict[str, Tracked] = {}
        self.messages: dict[int, Tracked] = {}  # by id(), in the order they began
        self.tls: dict[str, str] = {}  # smtpd pid -> TLS of its current connection
        # Message-ID -> a message handed to the filter / a copy the filter re-injected,
        # each waiting for the other.
        self.filtered: dict[str, Tracked] = {}
        self.reinjected: dict[str, Tracked] = {}
        self.cleanups: dict[str, Event] = {}  # queue id -> its cleanup event (Rspamd's goes next)

    def feed(self, line: Line) -> None:
        """Take in one line."""
        text, when = line.text, line.time.isoformat()
        if line.program.endswith("smtpd"):
            if text.startswith("connect from"):
                self.tls.pop(line.pid, None)
            elif tls := TLS.match(text):
                self.tls[line.pid] = tls["tls"]
                return
        if text.startswith("NOQUEUE: "):
            self._noqueue(line, text[len("NOQUEUE: "):], when)
            return
        match = QUEUE_ID.match(text)
        if match:
            self._step(line, match["qid"], match["rest"], when)
        elif text.startswith("warning: ") and (match := QUEUE_ID.match(text[9:])):
            tracked = self._message(match["qid"], line)
            # smtpd's "queue file size limit exceeded": the client was refused with 552.
            tracked.rejected = tracked.rejected or "limit exceeded" in match["rest"]
            tracked.events.append(Event(when, "warning", match["rest"]))

    def _noqueue(self, line: Line, text: str, when: str) -> None:
        reject = REJECT.match(text)
        if reject is None:
            return
        tracked = Tracked(queue_id="", sender=reject["sender"], service=_service(line.program),
                          rejected=True)
        if reject["to"]:
            tracked.recipients[reject["to"].lower()] = "rejected"
        tracked.events.append(Event(when, "rejected", f"{reject['stage']} from {reject['client']}: "
                                                      f"{reject['reply']}"))
        self.messages[id(tracked)] = tracked

    def _message(self, qid: str, line: Line) -> Tracked:
        tracked = self.by_qid.get(qid)
        if tracked is None:
            tracked = Tracked(queue_id=qid, queue_ids=[qid])
            self.by_qid[qid] = tracked
            self.messages[id(tracked)] = tracked
        return tracked

    def _step(self, line: Line, qid: str, rest: str, when: str) -> None:
        tracked = self._message(qid, line)
        program = line.program.rsplit("/", 1)[-1]
        if program == "smtpd" and (client := CLIENT.match(rest)):
            tracked.service = _service(line.program)
            tracked.auth_user = client["user"] or ""
            detail = f"from {client['client']} via {tracked.service}"
            if line.pid in self.tls:
                detail += f", TLS {self.tls[line.pid]}"
            if client["user"]:
                detail += f", signed in as {client['user']}"
            tracked.events.append(Event(when, "received", detail))
        elif rest.startswith("message-id="):
            self._cleanup(tracked, qid, rest[len("message-id="):].strip(), when)
        elif (reject := REJECT.match(rest)) is not None:
            tracked.rejected = True
            tracked.sender = tracked.sender or reject["sender"]
            tracked.events.append(Event(when, "rejected", f"{reject['stage']}: {reject['reply']}"))
        elif (queued := QUEUED.match(rest)) is not None:
            tracked.sender = queued["sender"]
            tracked.events.append(Event(when, "queued", f"from <{queued['sender']}>, {queued['size']} "
                                                        f"bytes, {queued['nrcpt']} recipient(s)"))
        elif (delivery := DELIVERY.match(rest)) is not None:
            self._delivery(tracked, line, delivery, when)
        elif rest == "removed" and program == "postsuper":
            tracked.removed = tracked.deleted = True
            tracked.events.append(Event(when, "deleted", f"queue file {qid} deleted by an admin"))
        elif rest == "removed":
            tracked.removed = True
            tracked.events.append(Event(when, "removed", f"queue file {qid} removed"))
        elif "status=expired" in rest:
            tracked.events.append(Event(when, "expired", rest))
            tracked.recipients = {a: "expired" if s == "deferred" else s
                                  for a, s in tracked.recipients.items()}
        elif rest.startswith(NOTICES):
            tracked.events.append(Event(when, "notice", rest))

    def _cleanup(self, tracked: Tracked, qid: str, message_id: str, when: str) -> None:
        tracked.message_id = message_id.strip("<>")
        event = Event(when, "cleanup", f"message-id <{tracked.message_id}>")
        tracked.events.append(event)
        self.cleanups[qid] = event
        if tracked.service != "reinject/smtpd":
            return
        # The filter hands the message back before it answers Postfix, so the re-injected
        # copy is usually logged before the hop that sent it there.
        earlier = self.filtered.pop(tracked.message_id, None)
        if earlier is not None and earlier is not tracked:
            self._join(earlier, tracked)
        else:
            self.reinjected[tracked.message_id] = tracked

    def _join(self, earlier: Tracked, later: Tracked) -> None:
        """Make LATER (the filter's re-injection) part of EARLIER, its events after EARLIER's."""
        self.reinjected.pop(later.message_id, None)
        earlier.queue_ids.extend(later.queue_ids)
        earlier.events.extend(later.events)
        for qid in later.queue_ids:
            self.by_qid[qid] = earlier
        earlier.recipients.update(later.recipients)
        earlier.removed, earlier.deleted = later.removed, later.deleted
        del self.messages[id(later)]

    def _delivery(self, tracked: Tracked, line: Line, match: re.Match, when: str) -> None:
        status, relay, to = match["status"], match["relay"], match["to"].lower()
        if line.program.endswith("disclaimer/smtp") and status == "sent":
            # The content filter's hop: the message comes back under a new queue id.
            tracked.events.append(Event(when, "filter", f"to <{to}> through the disclaimer filter: "
                                                        f"{match['reply'].strip('()')}"))
            queued_as = QUEUED_AS.search(match["reply"])
            later = (self.by_qid.get(queued_as["qid"]) if queued_as else None) \
                or self.reinjected.get(tracked.message_id)
            if later is not None and later is not tracked:
                self._join(tracked, later)
            elif tracked.message_id:
                self.filtered[tracked.message_id] = tracked
            return
        stage = {"sent": "delivered" if "lmtp" in line.program else "relayed"}.get(status, status)
        tracked.recipients[to] = stage
        where = f" (for <{match['orig']}>)" if match["orig"] and match["orig"].lower() != to else ""
        tracked.events.append(Event(when, stage, f"to <{to}>{where} via {relay}, dsn {match['dsn']}: "
                                                 f"{match['reply'].strip('()')}"))

    def add_verdict(self, raw: str) -> None:
        """Take in one Rspamd log line (anything but a scan summary is skipped)."""
        match = RSPAMD.search(raw)
        if match is None:
            return
        tracked = self.by_qid.get(match["qid"])
        if tracked is None:
            return
        symbols = sorted(((name, float(score)) for name, score in SYMBOL.findall(match["symbols"])),
                         key=lambda item: -abs(item[1]))
        top = ", ".join(f"{name} ({score:+g})" for name, score in symbols[:TOP_SYMBOLS])
        event = Event(datetime.fromisoformat(match["date"]).isoformat(), "rspamd",
                      f"{match['action']}, score {match['score']}/{match['limit']}"
                      + (f", {top}" if top else "") + f" (scan of {match['qid']})")
        cleanup = self.cleanups.get(match["qid"])
        at = next((i + 1 for i, e in enumerate(tracked.events) if e is cleanup), None)
        if at is None:  # no cleanup line (rotated away): by time
            at = len(tracked.events)
            while at and tracked.events[at - 1].time > event.time:
                at -= 1
        tracked.events.insert(at, event)


def _service(program: str) -> str:
    """'submission/smtpd' for postfix/submission/smtpd, 'smtpd' for postfix/smtpd."""
    return program.removeprefix("postfix/")


def build(postfix: Iterable[Line], rspamd: Iterable[str] = ()) -> list[Tracked]:
    """Every message of the lines, in the order they began."""
    tracker = Tracker()
    for line in postfix:
        tracker.feed(line)
    for raw in rspamd:
        if "rspamd_task_write_log" in raw:
            tracker.add_verdict(raw)
    for tracked in tracker.messages.values():
        # A re-injected copy's lines often come before the filter hop that made it (the
        # filter hands the message back before answering): in time order, stable.
        tracked.events.sort(key=lambda event: event.time)
    return list(tracker.messages.values())


def matches(tracked: Tracked, query: str) -> bool:
    """Whether QUERY names TRACKED: a queue id, its Message-ID, its sender or a recipient."""
    wanted = query.strip().strip("<>").lower()
    if not wanted:
        return True
    if wanted in (q.lower() for q in tracked.queue_ids) or wanted == tracked.message_id.lower():
        return True
    return wanted == tracked.sender.lower() or wanted in tracked.recipients


def search(messages: list[Tracked], query: str, since: datetime | None = None,
           senders: Iterable[str] | None = None, limit: int = 200) -> list[Tracked]:
    """The messages QUERY names, begun at SINCE or later, newest first, at most LIMIT.

    With SENDERS, only messages sent from one of those addresses (what a person may see
    of their own mail)."""
    allowed = None if senders is None else {s.lower() for s in senders}
    found = []
    for tracked in reversed(messages):
        if since is not None and tracked.started and tracked.started < since.isoformat():
            continue
        if allowed is not None and tracked.sender.lower() not in allowed:
            continue
        if matches(tracked, query):
            found.append(tracked)
            if len(found) >= limit:
                break
    return found


def lines(raw_lines: Iterable[str], newest: datetime, since: datetime | None = None) -> Iterator[Line]:
    """The Postfix lines of RAW_LINES (a file last written at NEWEST) from SINCE on."""
    stamps: dict = {}
    for raw in raw_lines:
        line = parse_line(raw.rstrip("\n"), year_of(raw, newest), stamps)
        if line is not None and (since is None or line.time >= since):
            yield line

