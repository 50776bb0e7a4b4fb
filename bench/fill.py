"""Fill a mailbox's folders fast: Maildir files written directly, then doveadm resync + index.

One IMAP APPEND per message would take minutes at 100,000 messages; writing the
files and letting Dovecot pick them up with `force-resync` takes seconds. The
messages vary in sender, subject, date, size, flags and structure like real mail.
"""
from __future__ import annotations

import base64
import email.utils
import logging
import os
import pwd
import quopri
import random
import shutil
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator

log = logging.getLogger(__name__)

FIRST = ("anna", "ben", "carla", "dmitri", "eva", "farid", "greta", "hugo", "ines", "jonas",
         "kemal", "lea", "marco", "nina", "oskar", "paula", "quentin", "rosa", "sven", "tara",
         "ugo", "vera", "willem", "xenia", "yusuf", "zoe")
LAST = ("adler", "berger", "costa", "dubois", "eriksen", "fischer", "garcia", "horvat",
        "ivanova", "jensen", "kowalski", "lopez", "meyer", "novak", "olsen", "petrov")
DOMAINS = ("example.org", "example.net", "shop.example", "news.example", "lists.example",
           "uni.example", "bank.example", "travel.example")
WORDS = ("budget", "invoice", "meeting", "report", "update", "project", "review", "draft",
         "schedule", "offer", "order", "delivery", "ticket", "holiday", "photos", "party",
         "contract", "agenda", "minutes", "release", "question", "proposal", "reminder",
         "newsletter", "receipt", "account", "password", "backup", "server", "garden",
         "concert", "booking", "flight", "hotel", "dinner", "lunch", "weekend", "plan",
         "summary", "results", "team", "customer", "support", "feedback", "survey", "launch")
ACCENTED = ("Café", "Überweisung", "Señal", "Straße", "Ελληνικά", "日本語")
LOREM = ("Thanks for the quick answer yesterday. I looked at the numbers again and they "
         "mostly add up, but the second quarter still looks odd to me. Could you check "
         "whether the travel costs were booked twice? Otherwise we are on track and the "
         "team is happy with the plan. Let me know if Thursday works for a short call, "
         "or send me a few options for next week. Best regards and see you soon. ")
FLAG_ODDS = (("F", 0.03), ("R", 0.10), ("S", 0.85))  # flagged, answered, seen
FILL_SEED = 20260301
NEWLINE = b"\n"


def mail_owner() -> tuple[int, int]:
    """Uid and gid of Debian's `mail` user, who owns the Maildirs."""
    entry = pwd.getpwnam("mail")
    return entry.pw_uid, entry.pw_gid


def _text_blob(rng: random.Random, size: int = 200_000) -> str:
    words = LOREM.split()
    lines, line, total = [], [], 0
    while total < size:
        line.append(rng.choice(words))
        if sum(len(w) + 1 for w in line) > 68:
            lines.append(" ".join(line))
            total += len(lines[-1]) + 1
            line = []
    return "\n".join(lines) + "\n"


def _subject(rng: random.Random) -> str:
    words = rng.sample(WORDS, rng.randint(2, 5))
    text = " ".join(words).capitalize() + f" #{rng.randint(1, 9999)}"
    prefix = rng.choices(("", "Re: ", "Fwd: ", "AW: "), (70, 20, 7, 3))[0]
    if rng.random() < 0.05:  # some non-ASCII subjects as RFC 2047 encoded words
        encoded = base64.b64encode(f"{rng.choice(ACCENTED)} {text}".encode()).decode()
        return f"{prefix}=?utf-8?b?{encoded}?="
    return prefix + text


def _body(rng: random.Random, blob: str) -> str:
    length = int(min(60_000, max(200, rng.lognormvariate(7.4, 0.9))))
    start = blob.index("\n", rng.randrange(0, len(blob) - length - 200)) + 1
    return blob[start:start + length].rsplit("\n", 1)[0] + "\n"


def _attachment(rng: random.Random, encoded: str) -> str:
    lines = rng.randint(30, 700)  # 2-40 KB of base64, whole 77-character lines
    start = rng.randrange(0, len(encoded) // 77 - lines) * 77
    return encoded[start:start + lines * 77]


def _message(rng: random.Random, blobs: tuple[str, str], number: int, when: datetime,
             to: str) -> str:
    name = rng.choice(FIRST), rng.choice(LAST)
    sender = f"{name[0].title()} {name[1].title()} <{name[0]}.{name[1]}@{rng.choice(DOMAINS)}>"
    headers = (f"Return-Path: <{name[0]}@{DOMAINS[0]}>\n"
               f"Message-ID: <bench.{number}.{rng.getrandbits(32):x}@bench.example>\n"
               f"Date: {email.utils.format_datetime(when)}\nFrom: {sender}\nTo: {to}\n"
               f"Subject: {_subject(rng)}\nMIME-Version: 1.0\n")
    body = _body(rng, blobs[0])
    if rng.random() < 0.06:  # an attachment now and then
        attachment = _attachment(rng, blobs[1])
        return (headers + 'Content-Type: multipart/mixed; boundary="b1"\n\n--b1\n'
                "Content-Type: text/plain; charset=utf-8\n\n" + body + "--b1\n"
                'Content-Type: application/pdf; name="scan.pdf"\n'
                'Content-Disposition: attachment; filename="scan.pdf"\n'
                "Content-Transfer-Encoding: base64\n\n" + attachment + "--b1--\n")
    return headers + "Content-Type: text/plain; charset=utf-8\n\n" + body


def _flags(rng: random.Random) -> str:
    return "".join(letter for letter, odds in FLAG_ODDS if rng.random() < odds)


def write_maildir(cur: Path, messages: Iterable[tuple[bytes, float, str]]) -> int:
    """Write (bytes, arrival time, flags) as Maildir files in CUR, owned by `mail`; returns the count."""
    uid, gid = mail_owner()
    host = "bench"
    count = 0
    for count, (data, arrived, flags) in enumerate(messages, 1):
        # S= and W= (size with CRLF line ends) spare Dovecot a stat and a read per message.
        wire_size = len(data) + data.count(NEWLINE)
        name = f"{int(arrived)}.M{count}P{os.getpid()}.{host},S={len(data)},W={wire_size}:2,{flags}"
        path = cur / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fchown(fd, uid, gid)
        finally:
            os.close(fd)
        os.utime(path, (arrived, arrived))  # the mtime is Maildir's INTERNALDATE
    return count


def generate(count: int, to: str, seed: int = FILL_SEED) -> Iterator[tuple[bytes, float, str]]:
    """COUNT varied messages to TO spread over three years, oldest first."""
    rng = random.Random(seed + count)
    blobs = _text_blob(rng), base64.encodebytes(rng.randbytes(200_000)).decode()
    now = time.time()
    span = 3 * 365 * 86400
    stamps = sorted(now - rng.random() * span for _ in range(count))
    for number, stamp in enumerate(stamps):
        zone = timezone(timedelta(hours=rng.choice((-5, 0, 1, 2, 9))))
        when = datetime.fromtimestamp(stamp, zone)
        text = _message(rng, blobs, number, when, to)
        yield text.encode("utf-8"), stamp + rng.randint(1, 90), _flags(rng)


def newsletter(to: str, size: int = 200_000, issue: int = 1) -> bytes:
    """A realistic HTML newsletter of about SIZE bytes of HTML (tables, inline CSS, images).

    ISSUE numbers its Message-ID, so copies are different messages to the app's caches.
    """
    rng = random.Random(FILL_SEED)
    blocks = []
    n = 0
    while sum(map(len, blocks)) < size:
        n += 1
        blocks.append(
            f'<tr><td style="padding:16px 24px;font-family:Georgia,serif;color:#333333">'
            f'<img src="https://cdn.news.example/img/{n}.jpg" width="552" height="200" alt="Story {n}" '
            f'style="display:block;width:100%;height:auto;border:0">'
            f'<h2 style="font-size:22px;color:#0b5394;margin:12px 0 6px">Story {n}: '
            f'{" ".join(rng.sample(WORDS, 4)).capitalize()}</h2>'
            f'<p style="font-size:15px;line-height:1.5;margin:0 0 8px">{LOREM * 2}</p>'
            f'<a href="https://news.example/story/{n}?utm_source=mail" '
            f'style="color:#ffffff;background:#0b5394;padding:8px 14px;text-decoration:none;'
            f'border-radius:4px">Read more</a></td></tr>\n')
    html = ('<!doctype html><html><head><meta charset="utf-8"><title>Weekly news</title>'
            '<style>body{margin:0;background:#f3f3f3} .wrap{max-width:600px;margin:0 auto}'
            '@media (max-width:600px){.wrap{width:100%!important}}</style></head><body>'
            '<img src="https://track.news.example/open.gif?id=42" width="1" height="1" alt="">'
            '<table class="wrap" role="presentation" width="600" cellpadding="0" cellspacing="0" '
            'style="background:#ffffff">\n' + "".join(blocks) + "</table></body></html>\n")
    text = "Weekly news. View this message in a browser: https://news.example/weekly\n"
    when = email.utils.format_datetime(datetime.now(timezone.utc))
    return ("From: Weekly News <news@news.example>\nTo: " + to + "\n"
            "Subject: Weekly news: the big newsletter\nDate: " + when + "\n"
            f"Message-ID: <weekly.{issue}@news.example>\nMIME-Version: 1.0\n"
            'Content-Type: multipart/alternative; boundary="nl"\n\n--nl\n'
            "Content-Type: text/plain; charset=utf-8\n\n" + text + "--nl\n"
            "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
            + quopri.encodestring(html.encode()).decode() + "\n--nl--\n").encode()


class Filler:
    """Put generated messages into USER's folders through the stack's own doveadm."""

    def __init__(self, stack_dir: Path, user: str) -> None:
        self.stack_dir = stack_dir
        self.conf = stack_dir / "etc" / "dovecot" / "dovecot.conf"
        local, _, domain = user.partition("@")
        self.maildir = stack_dir / "mail" / domain / local / "Maildir"
        self.user = user

    def doveadm(self, command: str, *args: str) -> None:
        """Run doveadm COMMAND ('mailbox create') for the user with ARGS (argument list, no shell)."""
        argv = ["doveadm", "-c", str(self.conf), *command.split(), "-u", self.user, *args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode:
            raise RuntimeError(f"{' '.join(argv[3:])}: {done.stderr.strip()}")

    def folder_dir(self, folder: str) -> Path:
        """The Maildir++ directory of FOLDER ('INBOX' is the Maildir itself)."""
        return self.maildir if folder == "INBOX" else self.maildir / ("." + folder.replace("/", "."))

    def fill(self, folder: str, messages: Iterable[tuple[bytes, float, str]],
             warm: bool = True) -> float:
        """Create FOLDER (subscribed), add MESSAGES, resync, index and warm; returns seconds taken.

        `doveadm index` caches only the fields the folder's caching decisions already
        name, and a new folder has none, so the first SORT (DATE) would read the Date
        header of every file (100k: ~1.7 s), and the first page's FETCH each file's
        envelope. Fetching both once with doveadm caches them as part of the import
        (WARM; 100k: a few seconds).
        """
        began = time.perf_counter()
        if folder != "INBOX":
            self.doveadm("mailbox create", "-s", folder)
        else:
            self.doveadm("mailbox status", "messages", "INBOX")  # creates the Maildir
        count = write_maildir(self.folder_dir(folder) / "cur", messages)
        self.doveadm("force-resync", folder)
        self.doveadm("index", folder)
        if warm:
            self.warm(folder)
        seconds = time.perf_counter() - began
        log.info("%s: %d messages in %.1f s", folder, count, seconds)
        return seconds

    def clone(self, user: str) -> "Filler":
        """Give USER (in the directory, no mail yet) a copy of this user's whole Maildir.

        Message files are hard links (100k messages in seconds, no disk); Dovecot's
        indexes, cache and uidlists are copied, as Dovecot rewrites and appends to them.
        """
        twin = Filler(self.stack_dir, user)
        uid, gid = mail_owner()
        for source in [self.maildir, *(p for p in self.maildir.rglob("*") if p.is_dir())]:
            target = twin.maildir / source.relative_to(self.maildir)
            target.mkdir(parents=True, exist_ok=True)
            os.chown(target, uid, gid)
            for entry in os.scandir(source):
                if not entry.is_file(follow_symlinks=False):
                    continue
                if source.name in ("cur", "new"):
                    os.link(entry.path, target / entry.name)
                else:
                    shutil.copy2(entry.path, target / entry.name)
                    os.chown(target / entry.name, uid, gid)
        for parent in (twin.maildir.parent, twin.maildir.parent.parent):
            os.chown(parent, uid, gid)
        return twin

    def warm(self, folder: str) -> None:
        """Put in Dovecot's cache what delivery puts there (the stack's mail_always_cache_fields):
        FOLDER's Date headers (SORT (DATE)), envelopes (the list), the headers THREAD REFS
        reads (the conversation view) and the subject (SORT (SUBJECT))."""
        self.doveadm("fetch", "date.sent imap.envelope hdr.message-id hdr.in-reply-to hdr.references "
                     "hdr.subject", "mailbox", folder, "all")
