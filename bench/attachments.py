"""Attachment blocking: the extra time per message of Rspamd's content inspection (issue 14).

Starts its own stack on free ports and sends, over SMTP from another loopback address, a
~10 MB message (text, a 7.5 MB binary attachment, a .docx) to a local mailbox:
ROUNDS times with blocking off, then ROUNDS times with executables, archives and pdf
refused (archives stay allowed, so the .docx passes). Times DATA until
Postfix's 250 (the milter scans before it answers) and prints medians and the difference;
then the time to refuse the same message carrying an ELF. Never pass/fail.

Run: python -m bench.attachments [--rounds 7]
"""
from __future__ import annotations

import argparse
import os
import smtplib
import statistics
import time

from core.services.directory import lookup
from core.services.server import settings
from tests.integration.test_attachment_blocking import ELF, docx, letter

from .common import database, scratch_stack, summary

RCPT = "bench@bench.test"
SOURCE = "127.0.0.96"


def big_message(extra: bytes | None = None, extra_name: str = ""):
    """A ~10 MB message: 7.5 MB of random bytes (10 MB in base64) and EXTRA."""
    msg = letter([RCPT], "bench attachments", os.urandom(7_500_000), "data.bin")
    if extra is not None:
        msg.add_attachment(extra, maintype="application", subtype="octet-stream", filename=extra_name)
    return msg


def send(cfg: dict, msg) -> float:
    """Seconds from MAIL FROM to the answer to DATA; refused messages count too."""
    raw = msg.as_bytes()
    with smtplib.SMTP(cfg["LISTEN_ADDRESS"], int(cfg["SMTP_PORT"]), local_hostname="mx.bench.example",
                      timeout=120, source_address=(SOURCE, 0)) as conn:
        conn.ehlo()
        began = time.perf_counter()
        try:
            conn.sendmail("sender@outside.example", [RCPT], raw)
        except smtplib.SMTPDataError:
            pass
        return time.perf_counter() - began


def configure(cfg: dict, **texts: str) -> None:
    with database(cfg).factory() as session:
        settings.update(session, cfg, texts, "bench")


def rounds_of(cfg: dict, rounds: int, make) -> list[float]:
    samples = [send(cfg, make()) for _ in range(rounds + 1)]
    return samples[1:]  # the first warms Rspamd's workers


def main(rounds: int) -> None:
    with scratch_stack() as cfg:
        with database(cfg).transaction() as session:
            lookup.add_domain(session, "bench.test")
            lookup.add_mailbox(session, RCPT, "benchmark-password-1")
        size = len(big_message(docx(), "minutes.docx").as_bytes()) / 1e6
        off = rounds_of(cfg, rounds, lambda: big_message(docx(), "minutes.docx"))
        configure(cfg, block_executables="on", block_archives="off", block_types="pdf")
        on = rounds_of(cfg, rounds, lambda: big_message(docx(), "minutes.docx"))
        configure(cfg, block_archives="on")
        refused = rounds_of(cfg, rounds, lambda: big_message(ELF, "report.txt"))
        print(f"\na {size:.1f} MB message, {rounds} sends each (median, min-max):")
        print(f"  blocking off                       {summary(off)}")
        print(f"  executables + pdf refused (passes) {summary(on)}")
        print(f"  refused (an ELF inside)            {summary(refused)}")
        print(f"  extra per message: {statistics.median(on) - statistics.median(off):+.3f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    main(parser.parse_args().rounds)
