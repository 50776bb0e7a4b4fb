"""`flask --app app stack install --system --root DIR`: the system install, rendered and checked.

The configuration of Debian's own Postfix, Dovecot, Rspamd and Redis on the standard
ports, Mailroom's systemd units and the app's environment file are rendered from the
same templates as the loopback stack into DIR (a root to review), after the checks
that refuse bad input first: this is Debian 12, the certificate and key exist and
belong together; then the daemons' own checkers (postfix check, doveconf, rspamadm
configtest, systemd-analyze verify) read the result, which is rendered
with every path under DIR. Applying it to "/" and restarting the services is the next
step of this feature (see README).
"""
from __future__ import annotations

import logging
import shlex
import shutil
import subprocess
from pathlib import Path

from . import deploy, perms, prepare
from .errors import StackError
from .files import TEMPLATES, write_file
from .render import outputs, render_text, template_values
from .system import SystemLayout, system_config

log = logging.getLogger(__name__)
UNITS = ("mailroom-worker", "mailroom-filter", "mailroom-learnd", "mailroom-web")
ENV_KEYS = ("ENV", "DATA_DIR", "STACK_DIR", "DATABASE_URL", "MAIL_HOSTNAME", "LISTEN_ADDRESS",
            "IMAP_HOST", "IMAP_PORT", "IMAP_TLS", "SIEVE_HOST", "SIEVE_PORT", "SUBMISSION_HOST",
            "SUBMISSION_PORT", "SUBMISSION_TLS", "TLS_CA_FILE", "SMTP_PORT", "RSPAMD_HOST",
            "RSPAMD_CONTROLLER_PORT", "RSPAMD_NORMAL_PORT", "RSPAMD_PROXY_PORT", "REDIS_HOST",
            "REDIS_PORT", "PROXY_FIX", "HOST", "PORT")
CHECK_TIMEOUT = 120
# Only the rendered files need it; the real password is generated on the machine itself.
PLACEHOLDER_PASSWORD = "rendered-for-review-only-0123456789"


def render_system(cfg: dict, cert: Path, key: Path, target: Path, checkout: Path,
                  debian_version: Path = Path("/etc/debian_version")) -> list[str]:
    """Check the inputs, render the install with TARGET as its root, and verify it.

    Every path in the rendered files starts with TARGET, so the daemons' checkers read
    the tree as it is; a refusal leaves the files there for inspection.
    """
    preflight(cert, key, debian_version)
    target.mkdir(parents=True, exist_ok=True)
    target.chmod(0o755)
    layout = SystemLayout.for_install(system_config(cfg, target), target, cert, key)
    files = _render_files(layout) + _render_units(layout)
    deploy.sync(checkout, layout.data_dir / "app")  # what the units run
    verify(layout)
    return [f"rendered {path}" for path in files] + [
        "checked by postfix check, doveconf -n, rspamadm configtest and systemd-analyze verify"]


def preflight(cert: Path, key: Path, debian_version: Path) -> None:
    """Refuse, changing nothing, off Debian 12 or without a usable certificate and key."""
    version = debian_version.read_text(encoding="ascii", errors="replace").strip() \
        if debian_version.is_file() else ""
    if not version.startswith("12"):
        raise StackError(f"the system install is for Debian 12 ({debian_version}: {version or 'missing'})")
    for path, what in ((cert, "certificate"), (key, "private key")):
        if not path.is_file():
            raise StackError(f"the TLS {what} {path} does not exist (Let's Encrypt keeps them in "
                             "/etc/letsencrypt/live/HOST/fullchain.pem and privkey.pem)")
    _check_pair(cert, key)


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


def verify(layout: SystemLayout) -> None:
    """Run each daemon's own checker on the configuration under LAYOUT's prefix."""
    postfix = f"postfix -c {shlex.quote(str(layout.postfix_etc))} check"
    checks = [
        # postfix check writes its findings only to a terminal: give it one.
        ("Postfix", ["script", "-qec", postfix, "/dev/null"]),
        ("Dovecot", ["doveconf", "-c", str(layout.dovecot_conf), "-n"]),
        ("Rspamd", ["rspamadm", f"--var=LOCAL_CONFDIR={layout.rspamd_etc}", "configtest", "-c",
                    "/etc/rspamd/rspamd.conf"]),
    ]
    if shutil.which("systemd-analyze"):
        units = [str(layout.units / f"{name}.service") for name in UNITS]
        checks.append(("systemd", ["systemd-analyze", "verify", "--man=no", *units]))
    for name, argv in checks:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CHECK_TIMEOUT,
                              check=False, stdin=subprocess.DEVNULL)
        output = (done.stdout + done.stderr).strip()
        if done.returncode or (name == "Postfix" and output):
            raise StackError(f"{name} refused the configuration; nothing was changed:\n{output}")


def _render_files(layout: SystemLayout) -> list[Path]:
    """Directories, database and every daemon's file under the layout; the files written."""
    from core.db import upgrade  # late: the rest of stack/ needs no SQLAlchemy

    prepare.prepare_tree(layout)
    upgrade(layout.settings["DATABASE_URL"])
    prepare.check_database(layout)
    values = template_values(layout.settings, layout, PLACEHOLDER_PASSWORD)
    changed = []
    for out in outputs(layout):
        text = render_text((TEMPLATES / out.template).read_text(encoding="utf-8"), values, out.syntax)
        if write_file(out.target, text, out.mode, out.group):
            changed.append(out.target)
    return changed


def _render_units(layout: SystemLayout) -> list[Path]:
    """The systemd units, the app's environment file and the worker's settings."""
    from . import filter as disclaimer_filter, learnd, worker

    app = layout.data_dir / "app"
    values = {
        "app_home": app, "python": app / ".venv" / "bin" / "python",
        "worker_settings": worker.settings_file(layout), "worker_pidfile": worker.pidfile(layout),
        "learnd_config": learnd.config_file(layout), "learnd_pidfile": learnd.pidfile(layout),
        "filter_config": disclaimer_filter.config_file(layout),
        "filter_pidfile": disclaimer_filter.pidfile(layout),
        "env_file": layout.env_file,
    }
    changed = []
    for name in UNITS:
        text = render_text((TEMPLATES / "systemd" / f"{name}.service").read_text(encoding="utf-8"),
                           values, "bare")
        if write_file(layout.units / f"{name}.service", text, 0o644):
            changed.append(layout.units / f"{name}.service")
    settings = layout.settings
    env = "".join(f"MAILROOM_{k}={settings[k]}\n" for k in ENV_KEYS if k in settings)
    if write_file(Path(values["env_file"]), "# Written by stack install --system\n" + env, 0o640,
                  perms.APP_USER):
        changed.append(Path(values["env_file"]))
    worker.write_settings(layout, settings)
    return changed
