"""`flask --app app stack install --system`: this machine's own mail daemons, from our templates.

Debian's Postfix, Dovecot, Rspamd and Redis on the standard ports, Mailroom's systemd
units and the app's environment file are rendered from the same templates as the
loopback stack. Bad input changes nothing: first the checks (Debian 12; the
certificate and key exist and belong together; on the real machine, the standard
ports are free or held by the daemons being configured), then the whole install is
rendered into a scratch root and read by each daemon's own checker (postfix check,
doveconf, rspamadm configtest, Radicale loading its configuration and plugins,
systemd-analyze verify). Only then is it written into the target root ("/" on the real
machine, or --root DIR), every file it replaces backed up first, checked again there,
and the services restarted.
"""
from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from . import carddav, checks, deploy, dkim, perms, prepare, secretfiles, spam
from .errors import StackError
from .files import TEMPLATES, write_file
from .layout import SystemLayout
from .render import rendered, render_text
from .system import SYSTEM_PORTS, system_config

log = logging.getLogger(__name__)
UNITS = ("mailroom-worker", "mailroom-filter", "mailroom-learnd", "mailroom-carddav", "mailroom-web")
# (Re)started in this order: the database keeper first, the web app last.
SERVICES = ("mailroom-worker", "redis-server", "rspamd", "mailroom-learnd", "dovecot",
            "mailroom-carddav", "mailroom-filter", "postfix", "mailroom-web")
PUBLIC_PORTS = ("SMTP_PORT", "SUBMISSION_PORT", "SMTPS_PORT", "IMAP_PORT", "IMAPS_PORT",
                "POP3_PORT", "POP3S_PORT", "SIEVE_PORT")
# Processes that may hold a standard port: the daemons being configured.
OUR_DAEMONS = ('"master"', '"dovecot"', '"imap-login"', '"pop3-login"', '"managesieve-lo')
ENV_KEYS = ("STACK", "TLS_CERT_FILE", "TLS_KEY_FILE", "ENV", "DATA_DIR", "STACK_DIR",
            "DATABASE_URL", "MAIL_HOSTNAME", "LISTEN_ADDRESS", "IMAP_HOST", "IMAP_PORT", "IMAP_TLS",
            "SIEVE_HOST", "SIEVE_PORT", "SUBMISSION_HOST", "SUBMISSION_PORT", "SUBMISSION_TLS",
            "TLS_CA_FILE", "SMTP_PORT", "RSPAMD_HOST", "RSPAMD_CONTROLLER_PORT", "RSPAMD_NORMAL_PORT",
            "RSPAMD_PROXY_PORT", "REDIS_HOST", "REDIS_PORT", "PROXY_FIX", "HOST", "PORT",
            "CLAMD_SOCKET", "CARDDAV_HOST", "CARDDAV_PORT", "CARDDAV_URL")


def install(cfg: dict, cert: Path, key: Path, target: Path, checkout: Path,
            debian_version: Path = Path("/etc/debian_version")) -> list[str]:
    """Check, render into a scratch root and verify, then write into TARGET; lines to show."""
    preflight(cert, key, debian_version, target)
    scratch = Path(tempfile.mkdtemp(prefix="mailroom-system-check-"))
    try:
        _render_into(scratch, cfg, cert, key, checkout, backup=None)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    backup = target / "var" / "backups" / "mailroom" / time.strftime("%Y%m%d-%H%M%S")
    changed = _render_into(target, cfg, cert, key, checkout, backup)
    lines = [f"changed {path}" for path in changed] or ["nothing changed"]
    if backup.is_dir():
        lines.append(f"the files it replaced are in {backup}")
    lines.append("checked by postfix check, doveconf -n, rspamadm configtest, Radicale's own "
                 "loading and systemd-analyze verify")
    return lines + (restart() if target == Path("/") else [])


def preflight(cert: Path, key: Path, debian_version: Path, target: Path) -> None:
    """Refuse, changing nothing: not Debian 12, no usable certificate and key, a taken port."""
    version = debian_version.read_text(encoding="ascii", errors="replace").strip() \
        if debian_version.is_file() else ""
    if not version.startswith("12"):
        raise StackError(f"the system install is for Debian 12 ({debian_version}: {version or 'missing'})")
    for path, what in ((cert, "certificate"), (key, "private key")):
        if not path.is_file():
            raise StackError(f"the TLS {what} {path} does not exist (Let's Encrypt keeps them in "
                             "/etc/letsencrypt/live/HOST/fullchain.pem and privkey.pem)")
    _check_pair(cert, key)
    if target == Path("/"):
        for name in PUBLIC_PORTS:
            port_ours_or_free(SYSTEM_PORTS[name])


def _check_pair(cert: Path, key: Path) -> None:
    """The key must belong to the certificate (openssl compares their public keys)."""
    public = []
    for argv in (["openssl", "x509", "-in", str(cert), "-noout", "-pubkey"],
                 ["openssl", "pkey", "-in", str(key), "-pubout"]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        if done.returncode:
            raise StackError(f"{argv[-3] if 'x509' in argv else argv[-2]} is not usable: {done.stderr.strip()}")
        public.append(done.stdout)
    if public[0] != public[1]:
        raise StackError(f"the private key {key} does not belong to the certificate {cert}")


def port_ours_or_free(port: int) -> None:
    """A standard port may be held by a daemon being configured, by nobody else."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
            return
        except OSError:
            pass
    holders = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True,
                             timeout=30, check=False).stdout.strip()
    if not any(name in holders for name in OUR_DAEMONS):
        raise StackError(f"port {port} is in use by another program: {holders or 'unknown'}")


def _render_into(root: Path, cfg: dict, cert: Path, key: Path, checkout: Path,
                 backup: Path | None) -> list[Path]:
    """The whole install under ROOT, verified; the files changed. BACKUP: where the
    files that change are copied first."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    layout = SystemLayout.for_install(system_config(cfg, root, cert, key), root, cert, key)
    _prepare(layout)
    secretfiles.ensure_secrets(layout)  # a scratch root gets throw-away ones
    password = secretfiles.rspamd_password(layout.settings, layout)
    files = _files(layout, password) + _units(layout)
    changed = [path for path, text, *_ in files if _differs(path, text)]
    if backup is not None:
        _back_up(layout, changed, backup)
    for path, text, mode, group in files:
        write_file(path, text, mode, group)
    deploy.sync(checkout, layout.data_dir / "app")  # what the units run
    spam.after_render(layout, password)  # rule maps, training queue, Sieve binaries
    dkim.after_render(layout)  # the domains Rspamd signs for
    prepare.compile_sieve_before(layout)
    verify(layout)
    return changed


def _prepare(layout: SystemLayout) -> None:
    """Folders, owners and the database (created or brought up to date)."""
    from core.db import upgrade  # late: the rest of stack/ needs no SQLAlchemy

    prepare.prepare_tree(layout)
    upgrade(layout.settings["DATABASE_URL"])
    prepare.check_database(layout)


def _differs(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") != text
    except FileNotFoundError:
        return True


def _back_up(layout: SystemLayout, changed: list[Path], backup: Path) -> None:
    """Copy each existing file of CHANGED to BACKUP, under its path relative to the root."""
    for path in changed:
        if path.is_file():
            copy = backup / path.relative_to(layout.prefix)
            copy.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copy2(path, copy)


def verify(layout: SystemLayout) -> None:
    """Run each daemon's own checker on the configuration under LAYOUT's prefix."""
    found = [checks.postfix(layout.postfix_etc),
             ("Dovecot", ["doveconf", "-c", str(layout.dovecot_conf), "-n"]),
             checks.rspamd(layout.rspamd_etc), checks.radicale(carddav.config_file(layout))]
    if shutil.which("systemd-analyze"):
        units = [str(layout.units / f"{name}.service") for name in UNITS]
        found.append(("systemd", ["systemd-analyze", "verify", "--man=no", *units]))
    for name, argv in found:
        checks.run(name, argv)


def _files(layout: SystemLayout, password: str) -> list[tuple[Path, str, int, str | None]]:
    """(path, text, mode, group) of every daemon's configuration file."""
    return [(out.target, text, out.mode, out.group)
            for out, text in rendered(layout.settings, layout, password)]


def _units(layout: SystemLayout) -> list[tuple[Path, str, int, str | None]]:
    """(path, text, mode, group) of the systemd units, the app's environment and the
    worker's settings."""
    from . import filter as disclaimer_filter, learnd, worker

    app = layout.data_dir / "app"
    values = {
        "app_home": app, "python": app / ".venv" / "bin" / "python",
        "worker_settings": worker.settings_file(layout), "worker_pidfile": worker.pidfile(layout),
        "learnd_config": learnd.config_file(layout), "learnd_pidfile": learnd.pidfile(layout),
        "filter_config": disclaimer_filter.config_file(layout),
        "filter_pidfile": disclaimer_filter.pidfile(layout),
        "env_file": layout.env_file,
        "carddav_python": carddav.PYTHON, "carddav_path": app / "stack" / "carddav",
        "carddav_config": carddav.config_file(layout), "carddav_pidfile": carddav.pidfile(layout),
    }
    files = [(layout.units / f"{name}.service",
              render_text((TEMPLATES / "systemd" / f"{name}.service").read_text(encoding="utf-8"),
                          values, "bare"), 0o644, None) for name in UNITS]
    settings = layout.settings
    env = "".join(f"MAILROOM_{k}={settings[k]}\n" for k in ENV_KEYS if k in settings)
    files.append((layout.env_file, "# Written by stack install --system\n" + env, 0o640, perms.APP_USER))
    files.append((worker.settings_file(layout), worker.settings_text(settings), 0o600, None))
    return files


def restart() -> list[str]:
    """Reload systemd and (re)start every service in order; lines to show."""
    if not Path("/run/systemd/system").is_dir():
        return ["this machine does not run systemd: the files are in place; start the services "
                f"({', '.join(SERVICES)}) yourself"]
    subprocess.run(["systemctl", "daemon-reload"], check=True, timeout=60)
    lines = []
    for name in SERVICES:
        for action in (["enable", name], ["restart", name]):
            done = subprocess.run(["systemctl", *action], capture_output=True, text=True,
                                  timeout=120, check=False)
            if done.returncode:
                raise StackError(f"{name} did not start: {done.stderr.strip()}; "
                                 f"see journalctl -u {name}")
        lines.append(f"{name}: running")
    return lines
