"""The system install (issue 11), rendered into a temporary root and checked by the daemons.

postfix check, doveconf -n, rspamadm configtest and systemd-analyze verify read the
tree; bad input is refused before anything is rendered.
"""
from __future__ import annotations

import grp
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from stack import carddav, checks
from stack.errors import StackError
from stack.layout import Layout
from stack.layout import SystemLayout
from stack.system import system_config
from stack.sysinstall import install, verify

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def target():
    path = Path(tempfile.mkdtemp(prefix="mr-sysroot-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def pair(mail_stack):
    """The test stack's certificate and key, as an admin's files."""
    layout = Layout.from_config(mail_stack)
    return layout.cert, layout.key


def test_rendered_system_passes_every_daemons_checker(mail_stack, pair, target):
    cfg = {**mail_stack, "MAIL_HOSTNAME": "mail.example.org"}
    lines = install(cfg, *pair, target, ROOT)
    assert lines[-1].startswith("checked by postfix check")
    master = (target / "etc/postfix/master.cf").read_text()
    assert "0.0.0.0:25 inet" in master and "0.0.0.0:465 inet" in master and "0.0.0.0:587 inet" in master
    assert "smtpd_tls_wrappermode=yes" in master
    main = (target / "etc/postfix/main.cf").read_text()
    assert "default_transport = smtp" in main and "inet_interfaces = all" in main
    dovecot = (target / "etc/dovecot/dovecot.conf").read_text()
    for port in ("143", "993", "110", "995", "4190"):
        assert f"port = {port}" in dovecot
    assert 'log_path = "syslog"' in dovecot and f"ssl_cert = <{pair[0]}" in dovecot
    env = (target / "etc/mailroom/mailroom.env").read_text()
    assert "MAILROOM_IMAP_PORT=143" in env and "MAILROOM_SUBMISSION_HOST=mail.example.org" in env
    for unit in ("mailroom-worker", "mailroom-web", "mailroom-learnd", "mailroom-filter", "mailroom-carddav"):
        assert (target / f"etc/systemd/system/{unit}.service").is_file()
    assert "User=mailroom" in (target / "etc/systemd/system/mailroom-web.service").read_text()
    _assert_address_book(target, env)
    assert (target / "var/lib/mailroom/db/mailroom.db").is_file()
    antivirus = (target / "etc/rspamd/local.d/antivirus.conf").read_text()
    clamd = Path("/usr/sbin/clamd").exists()  # ClamAV "if present": absent on this machine
    assert f"enabled = {'true' if clamd else 'false'};" in antivirus and "/run/clamav/clamd.ctl" in antivirus


def _assert_address_book(target: Path, env: str) -> None:
    """Radicale: its unit runs the launcher on the rendered configuration (which holds the
    web app's key: root:radicale 0640) and the books are radicale's alone; the app finds it."""
    unit = (target / "etc/systemd/system/mailroom-carddav.service").read_text()
    conf = target / "etc/mailroom/carddav/radicale.conf"
    assert f"-m mailroom_carddav {conf} {target}/run/mailroom/carddav.pid" in unit
    plugin = target / "var/lib/mailroom/app/stack/carddav"
    assert f"PYTHONPATH={plugin}\n" in unit and (plugin / "mailroom_carddav/auth.py").is_file()
    text, info = conf.read_text(), conf.stat()
    assert "hosts = 127.0.0.1:15232" in text and "imap_port = 143" in text
    assert f"filesystem_folder = {target}/var/lib/mailroom/lib/carddav" in text
    assert stat.S_IMODE(info.st_mode) == 0o640 and grp.getgrgid(info.st_gid).gr_name == carddav.USER
    books = (target / "var/lib/mailroom/lib/carddav").stat()
    assert stat.S_IMODE(books.st_mode) == 0o700 and pwd.getpwuid(books.st_uid).pw_name == carddav.USER
    assert "MAILROOM_CARDDAV_PORT=15232" in env and "MAILROOM_CARDDAV_HOST=127.0.0.1" in env


def test_radicale_refusal_is_shown_in_its_own_words(target):
    conf = target / "radicale.conf"
    conf.write_text("[rights]\ntype = no_such_rights\n")
    with pytest.raises(StackError, match="Radicale refused the configuration(.|\n)*no_such_rights"):
        checks.run(*checks.radicale(conf))


def test_missing_certificate_is_refused_before_anything_is_rendered(mail_stack, pair, target):
    with pytest.raises(StackError, match="letsencrypt/live/HOST/fullchain.pem"):
        install(mail_stack, target / "no-such.pem", pair[1], target / "root", ROOT)
    assert not (target / "root").exists()


def test_a_key_of_another_certificate_is_refused(mail_stack, pair, target):
    other = target / "other.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", str(other)], check=True, capture_output=True)
    with pytest.raises(StackError, match="does not belong to the certificate"):
        install(mail_stack, pair[0], other, target / "root", ROOT)
    assert not (target / "root").exists()


def test_other_systems_than_debian_12_are_refused(mail_stack, pair, target):
    version = target / "debian_version"
    version.write_text("11.9\n")
    with pytest.raises(StackError, match="for Debian 12"):
        install(mail_stack, *pair, target / "root", ROOT, debian_version=version)
    assert not (target / "root").exists()


def test_a_checker_refusal_is_shown_in_the_daemons_own_words(mail_stack, pair, target):
    install(mail_stack, *pair, target, ROOT)
    layout = SystemLayout.for_install(system_config(mail_stack, target, *pair), target, *pair)
    with open(layout.dovecot_conf, "a", encoding="utf-8") as conf:
        conf.write("no_such_setting = 1\n")
    with pytest.raises(StackError, match="Dovecot refused the configuration(.|\n)*no_such_setting"):
        verify(layout)


def test_reinstall_backs_up_what_it_replaces_and_is_idempotent(mail_stack, pair, target):
    main = target / "etc/postfix/main.cf"
    main.parent.mkdir(parents=True)
    main.write_text("# the admin's old main.cf\n")
    lines = install(mail_stack, *pair, target, ROOT)
    backups = list((target / "var/backups/mailroom").glob("*/etc/postfix/main.cf"))
    assert [b.read_text() for b in backups] == ["# the admin's old main.cf\n"]
    assert f"changed {main}" in lines and any(l.startswith("the files it replaced are in") for l in lines)
    again = install(mail_stack, *pair, target, ROOT)
    assert again[0] == "nothing changed"


def test_a_refused_configuration_leaves_the_previous_one_in_place(mail_stack, pair, target):
    install(mail_stack, *pair, target, ROOT)
    before = (target / "etc/postfix/main.cf").read_text()
    with pytest.raises(StackError, match="not a valid host name"):
        install({**mail_stack, "MAIL_HOSTNAME": "mail example org"}, *pair, target, ROOT)
    assert (target / "etc/postfix/main.cf").read_text() == before


def test_a_system_install_is_refused_by_up_and_down_and_its_layout_is_systemds(mail_stack, pair):
    from stack import down, up
    from stack.daemons import running

    cfg = system_config(mail_stack, Path("/"), *pair)
    for command in (up, down):
        with pytest.raises(StackError, match="system install"):
            command(cfg)
    layout = Layout.from_config(cfg)
    assert isinstance(layout, SystemLayout) and layout.dovecot_run == Path("/run/dovecot")
    assert layout.database == Path("/var/lib/mailroom/db/mailroom.db")
    # No systemd here: no unit runs, and nothing is mistaken for one.
    assert running(layout, "postfix") is None


def test_a_standard_port_held_by_another_program_is_refused(mail_stack):
    import socket

    from stack.sysinstall import port_ours_or_free

    with socket.socket() as other:
        other.bind(("0.0.0.0", 0))
        other.listen(1)
        with pytest.raises(StackError, match="in use by another program"):
            port_ours_or_free(other.getsockname()[1])
    # Postfix's master holding the port is the daemon being configured: fine.
    port_ours_or_free(mail_stack["SMTP_PORT"])
