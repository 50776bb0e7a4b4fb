"""A mailbox with conversations across INBOX and Sent, written through plain IMAP."""
from __future__ import annotations

from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

from tests.helpers import imap_login

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def raw(sender: str, to: str, subject: str, msgid: str, hours: int, parent: str = "",
        refs: str = "", body: str = "") -> bytes:
    """A plain-text message HOURS after START, answering PARENT (with REFS before it)."""
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Message-ID: {msgid}",
             f"Date: {format_datetime(START + timedelta(hours=hours))}"]
    if parent:
        lines += [f"In-Reply-To: {parent}", f"References: {(refs + ' ' + parent).strip()}"]
    text = body or f"{subject}: a few words from {sender}."
    return ("\r\n".join(lines + ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
                                  "", text, ""])).encode()


def seed(cfg: dict, me: str, tag: str) -> dict[str, tuple[str, int]]:
    """Three conversations; returns {name: (folder, UID)}.

    plan: anna's question (h0), my answer in Sent (h1), ben's follow-up (h2);
    lunch: my invitation in Sent (h3), carla's answer in INBOX (h4), unread;
    alone: dora's single message (h5), the newest conversation.
    """
    ids = {name: f"<{name}.{tag}@conv.test>" for name in
           ("plan1", "plan2", "plan3", "lunch1", "lunch2", "alone")}
    mail = [
        ("plan1", "INBOX", raw(f"Anna <anna@conv.test>", me, f"Plan {tag}", ids["plan1"], 0), [b"\\Seen"]),
        ("plan2", "Sent", raw(me, "anna@conv.test", f"Re: Plan {tag}", ids["plan2"], 1, ids["plan1"]),
         [b"\\Seen"]),
        ("plan3", "INBOX", raw("Ben <ben@conv.test>", me, f"Re: Plan {tag}", ids["plan3"], 2,
                               ids["plan2"], ids["plan1"]), []),
        ("lunch1", "Sent", raw(me, "carla@conv.test", f"Lunch {tag}", ids["lunch1"], 3), [b"\\Seen"]),
        ("lunch2", "INBOX", raw("Carla <carla@conv.test>", me, f"Re: Lunch {tag}", ids["lunch2"], 4,
                                ids["lunch1"]), []),
        ("alone", "INBOX", raw("Dora <dora@conv.test>", me, f"Alone {tag}", ids["alone"], 5), []),
    ]
    client = imap_login(cfg, me)
    try:
        if not client.folder_exists("Sent"):
            client.create_folder("Sent")
        found = {}
        for name, folder, data, flags in mail:
            client.append(folder, data, flags)
            client.select_folder(folder, readonly=True)
            found[name] = (folder, client.search(["HEADER", "Message-ID", ids[name]])[0])
        return found
    finally:
        client.logout()
