"""Mail is backed up with Dovecot's `doveadm backup`, exactly as the README documents it."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from stack.layout import Layout
from tests.helpers import imap_login, new_address, wait_for_subject
from tests.integration.admin_support import send_inbound, unique

# The README's commands ("Backup and restore"). The destination is spelled per user:
# doveadm does not expand %d/%n in it (checked: it made a folder named "%d").
USERS = "doveadm -c {stack}/etc/dovecot/dovecot.conf user *"
BACKUP = "doveadm -c {stack}/etc/dovecot/dovecot.conf backup -u {user} maildir:{dest}/{user}/Maildir"
# A lost message comes back with `doveadm import` (`backup -R` is for an empty mailbox:
# on one that changed, dsync wants to delete and re-create INBOX, which it cannot).
IMPORT = "doveadm -c {stack}/etc/dovecot/dovecot.conf import -u {user} maildir:{dest}/{user}/Maildir \"\" subject {subject}"


def doveadm(command: str, **values) -> str:
    """Run one of the documented commands with VALUES filled in; its output."""
    result = subprocess.run(command.format(**values).split(), capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def subjects(cfg: dict, address: str) -> set[str]:
    """The subjects in ADDRESS's INBOX, over IMAP."""
    client = imap_login(cfg, address)
    try:
        client.select_folder("INBOX", readonly=True)
        found = client.fetch(client.search(["ALL"]), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        return {v[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip()
                for v in found.values()}
    finally:
        client.logout()


def test_doveadm_backup_and_restore_of_one_user(mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "dsync", spam_to_junk=False)
    kept, lost = unique("kept"), unique("lost")
    for subject in (kept, lost):
        send_inbound(mail_stack, address, subject)
        wait_for_subject(mail_stack, address, subject)
    dest = Path(tempfile.mkdtemp(prefix="mr-mail-backup-"))
    shutil.chown(dest, "mail", "mail")  # the README: `install -d -o mail -g mail -m 0750 DIR`
    dest.chmod(0o750)
    values = {"stack": Layout.from_config(mail_stack).root, "user": address, "dest": dest}
    try:
        assert address in doveadm(USERS, **values).split()
        doveadm(BACKUP, **values)
        stored = b"".join(p.read_bytes() for p in (dest / address / "Maildir").rglob("*")
                          if p.is_file() and p.parent.name in ("cur", "new"))
        assert kept.encode() in stored and lost.encode() in stored, sorted(map(str, dest.rglob("*")))[:20]

        client = imap_login(mail_stack, address)
        client.select_folder("INBOX")
        client.delete_messages(client.search(["SUBJECT", lost]))
        client.expunge()
        client.logout()
        assert lost not in subjects(mail_stack, address)

        # Through a shell as a person types it: "" (into the folders of the same names).
        subprocess.run(["sh", "-c", IMPORT.format(**values, subject=lost)], check=True, timeout=60)
        assert {kept, lost} <= subjects(mail_stack, address)
    finally:
        shutil.rmtree(dest, ignore_errors=True)
