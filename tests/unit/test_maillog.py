"""The mail log parser on lines captured from the running stack (tests/unit/maillog_samples)."""
from __future__ import annotations

import gzip
import os
from datetime import datetime
from pathlib import Path

from core.mail import maillog, maillog_counts
from stack import maillog as files

SAMPLES = Path(__file__).parent / "maillog_samples"
WRITTEN = datetime(2026, 12, 4, 23, 0)


def sample(name: str) -> list[str]:
    return (SAMPLES / name).read_text(encoding="utf-8").splitlines(keepends=True)


def messages(since: datetime | None = None) -> list[maillog.Tracked]:
    return maillog.build(maillog.lines(sample("postfix.log"), WRITTEN, since), sample("rspamd.log"))


def one(query: str) -> maillog.Tracked:
    found = maillog.search(messages(), query)
    assert len(found) == 1, [m.queue_ids for m in found]
    return found[0]


def stages(tracked: maillog.Tracked) -> list[str]:
    return [event.stage for event in tracked.events]


def test_a_submitted_message_and_its_reinjection_are_one_message():
    tracked = one("2EA1C2617F0")
    assert tracked.queue_ids == ["2EA1C2617F0", "505542617F4"]
    assert one("505542617F4") is not tracked and one("505542617F4").queue_ids == tracked.queue_ids
    assert stages(tracked) == ["received", "cleanup", "rspamd", "queued", "filter", "received",
                               "cleanup", "rspamd", "queued", "removed", "relayed", "removed"]
    assert tracked.status == "relayed" and tracked.sender == "sender-9648dab2@dkim-49c03806.test"
    assert tracked.message_id == "20261204223550.2EA1C2617F0@mail.example.test"
    received = tracked.events[0].detail
    assert "via submission/smtpd" in received and "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384" in received
    assert "signed in as sender-9648dab2@dkim-49c03806.test" in received
    assert tracked.events[0].time == "2026-12-04T22:35:50"


def test_rspamd_verdict_with_action_score_and_top_symbols():
    tracked = one("73E1F2617F8")
    verdict = tracked.events[stages(tracked).index("rspamd")].detail
    assert verdict.startswith("no action, score 0.40/15.00, MID_RHS_NOT_FQDN (+0.5), MIME_GOOD (-0.1)")
    assert verdict.count("(") == maillog.TOP_SYMBOLS + 1  # five symbols and the scan's queue id


def test_local_delivery_through_lmtp_is_delivered():
    tracked = one("person-e95be8fa@dkim-11578f9f.test")
    assert tracked.status == "delivered"
    assert tracked.recipients == {"person-e95be8fa@dkim-11578f9f.test": "delivered"}
    assert "via smtpd" in tracked.events[0].detail and "TLS" not in tracked.events[0].detail
    assert "dsn 2.0.0" in tracked.events[stages(tracked).index("delivered")].detail


def test_deferred_then_expired_message():
    tracked = one("D70E426012C")
    assert stages(tracked).count("deferred") == 3
    assert "placed on hold" in [e.detail for e in tracked.events]
    assert tracked.status == "expired" and stages(tracked)[-1] == "removed"
    deferred = maillog.build(maillog.lines([l for l in sample("postfix.log") if "22:37:0" not in l],
                                           WRITTEN))
    assert maillog.search(deferred, "D70E426012C")[0].status == "deferred"


def test_refusals_are_rejected_entries():
    refused = maillog.search(messages(), "someone@outside.test")
    noqueue = [m for m in refused if not m.queue_id]
    assert len(noqueue) == 1 and noqueue[0].status == "rejected"
    assert "552 5.3.4 Message size exceeds fixed limit" in noqueue[0].events[0].detail
    assert one("9749B260492").status == "rejected"  # over the size limit during DATA


def test_search_by_message_id_sender_recipient_and_time():
    assert one("<20261204223550.2EA1C2617F0@mail.example.test>").queue_id == "2EA1C2617F0"
    assert one("SENDER-9648DAB2@dkim-49c03806.test").queue_id == "2EA1C2617F0"
    everything = maillog.search(messages(), "")
    assert everything[0].started >= everything[-1].started  # newest first
    late = datetime(2026, 12, 4, 22, 36, 30)
    assert all(m.started >= late.isoformat() for m in maillog.search(messages(late), ""))
    assert [m.queue_id for m in maillog.search(messages(), "", limit=3)] == \
        [m.queue_id for m in everything[:3]]


def test_senders_keep_other_peoples_messages_out():
    own = "sender-9648dab2@dkim-49c03806.test"
    assert [m.queue_id for m in maillog.search(messages(), "", senders=[own])] == ["2EA1C2617F0"]
    assert maillog.search(messages(), "73E1F2617F8", senders=[own]) == []


def test_tally_counts_port_25_submission_and_refusals_once():
    counts = maillog_counts.tally(sample("postfix.log"), WRITTEN, datetime(2026, 12, 4))
    submitted = sum(1 for l in sample("postfix.log") if "/submission/smtpd" in l and "client=" in l)
    assert counts.sent == submitted and counts.received >= 1 and counts.rejected >= 2
    assert maillog_counts.tally(sample("postfix.log"), WRITTEN, datetime(2026, 12, 5)) == maillog_counts.Tally()


def test_year_is_taken_from_the_file_across_new_year():
    line = "Dec 31 23:59:59 mail postfix/qmgr[1]: ABCDEF123: removed\n"
    parsed = next(maillog.lines([line], datetime(2027, 1, 1, 0, 5)))
    assert parsed.time == datetime(2026, 12, 31, 23, 59, 59)


def test_rotated_generations_are_read_oldest_first(tmp_path):
    current = tmp_path / "postfix.log"
    raw = sample("postfix.log")
    with gzip.open(tmp_path / "postfix.log.2.gz", "wt") as out:
        out.writelines(raw[:100])
    with gzip.open(tmp_path / "postfix.log.1.gz", "wt") as out:
        out.writelines(raw[100:200])
    current.write_text("".join(raw[200:]))
    (tmp_path / "postfix.log.1.gz.partial").write_text("ignored")
    assert [p.name for p in files.generations(current, None)] == [
        "postfix.log.2.gz", "postfix.log.1.gz", "postfix.log"]
    old = datetime(2026, 12, 4, 12).timestamp()
    os.utime(tmp_path / "postfix.log.2.gz", (old, old))
    assert len(files.generations(current, datetime(2026, 12, 4, 13))) == 2
    joined = [line for path in files.generations(current, None) for line in files.read(path)]
    assert joined == raw


def test_a_line_of_another_program_or_form_is_skipped():
    assert maillog.parse_line("Dec 04 22:35:47 mail dovecot[1]: master: started", 2026) is None
    iso = "2026-12-04T22:35:50.123456+00:00 mail postfix/qmgr[27023]: 2EA1C2617F0: removed"
    assert maillog.parse_line(iso, 1999).time == datetime(2026, 12, 4, 22, 35, 50)


def second_run() -> list[maillog.Tracked]:
    """tests/integration/test_tracking.py's own messages, as its stack logged them."""
    return maillog.build(maillog.lines(sample("postfix-2.log"), WRITTEN), sample("rspamd-2.log"))


def test_a_refused_rcpt_names_its_sender_and_recipient():
    refused = maillog.search(second_run(), "anyone-1e1c3c53@elsewhere.example")
    assert len(refused) == 1 and refused[0].queue_id == "" and refused[0].status == "rejected"
    assert refused[0].sender == "stranger-1bc9a580@outside.test"
    assert refused[0].events[0].detail.startswith("RCPT from unknown[127.0.0.91]: 554 5.7.1")


def test_submitted_mail_deferred_then_deleted_by_an_admin():
    tracked = maillog.search(second_run(), "8D0EF24A0D4")[0]
    assert tracked.queue_ids == ["8D0EF24A0D4", "A5EA624A0E2"]
    assert tracked.recipients == {"far-9ad1ee84@unreachable-b1224f20.test": "deferred"}
    assert stages(tracked)[-2:] == ["deferred", "deleted"] and tracked.status == "deleted"
    assert stages(tracked).count("rspamd") == 2  # the submission scan and the DKIM pass
