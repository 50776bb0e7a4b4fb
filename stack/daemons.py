"""The four daemons: how each is started, found, reloaded and stopped."""
from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import carddav, checks, filter as disclaimer_filter, procs, worker
from . import learnd
from .errors import StackError
from .layout import Layout, SystemLayout
from .render import digest

log = logging.getLogger(__name__)
RSPAMD_CONF = "/etc/rspamd/rspamd.conf"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
# Rspamd compiles ~45 MB of hyperscan databases into an empty DBDIR before it daemonizes
# (~9 s on 2 cores); with DBDIR kept, its start command returns in ~1.5 s.
LAUNCH_TIMEOUT = 60.0


@dataclass(frozen=True)
class Daemon:
    """How to start one daemon, and where it writes its own pidfile."""

    name: str
    argv: tuple[str, ...]
    pidfile: Path
    user: str | None = None  # run the start command as this user (Redis)
    reload_signal: int | None = signal.SIGHUP  # None: restart to apply new config
    env: tuple[tuple[str, str], ...] = ()  # added to ENV for the start command


def specs(layout: Layout) -> dict[str, Daemon]:
    """The daemons of this layout, by name."""
    rspamd_vars = {
        "LOCAL_CONFDIR": layout.rspamd_etc, "DBDIR": layout.lib / "rspamd",
        "RUNDIR": layout.rspamd_run, "LOGDIR": layout.log,
    }
    return {
        "redis": Daemon(
            "redis", ("redis-server", str(layout.redis_etc / "redis.conf")),
            layout.redis_run / "redis.pid", user="redis", reload_signal=None,
        ),
        "rspamd": Daemon(
            "rspamd",
            ("rspamd", "-c", RSPAMD_CONF, *(f"--var={k}={v}" for k, v in rspamd_vars.items()),
             "-u", "_rspamd", "-g", "_rspamd"),
            layout.rspamd_run / "rspamd.pid",
        ),
        # ClamAV, for Rspamd's antivirus module; it drops root for `User clamav` itself. Its
        # SIGHUP only reopens the log: new settings need a restart.
        "clamd": Daemon(
            "clamd", ("clamd", "-c", str(layout.clamav_etc / "clamd.conf")),
            layout.clamd_run / "clamd.pid", reload_signal=None,
        ),
        # Junk training: teaches Rspamd what Dovecot's IMAPSieve scripts queued; it drops
        # root itself once it has read the controller password.
        "learnd": Daemon(
            "learnd", (sys.executable, "-m", "stack.learnd", str(learnd.config_file(layout))),
            learnd.pidfile(layout), reload_signal=None,
            env=(("PYTHONPATH", str(learnd.PROJECT_ROOT)),),
        ),
        "dovecot": Daemon(
            "dovecot", ("dovecot", "-c", str(layout.dovecot_conf)), layout.dovecot_run / "master.pid",
        ),
        # The address book server (Radicale, stack/carddav); new settings need a restart.
        "carddav": Daemon(
            "carddav", (carddav.PYTHON, "-m", "mailroom_carddav", str(carddav.config_file(layout)),
                        str(carddav.pidfile(layout))),
            carddav.pidfile(layout), reload_signal=None,
            env=(("PYTHONPATH", str(carddav.PLUGIN_PATH)),),
        ),
        # Our own after-queue content filter; it drops root itself once its port is bound.
        "disclaimer": Daemon(
            "disclaimer",
            (sys.executable, "-m", "stack.filter", str(disclaimer_filter.config_file(layout))),
            disclaimer_filter.pidfile(layout), reload_signal=None,
            env=(("PYTHONPATH", str(disclaimer_filter.PROJECT_ROOT)),),
        ),
        "postfix": Daemon(
            "postfix", ("postfix", "-c", str(layout.postfix_etc), "start"),
            layout.queue / "pid" / "master.pid",
        ),
        # The privileged helper, the admin's job queue and the database keeper (stack/worker.py).
        "worker": Daemon(
            "worker", worker.argv(layout), worker.pidfile(layout),
            env=(("PYTHONPATH", str(worker.PROJECT_ROOT)),),
        ),
    }


def stale(layout: Layout, name: str) -> bool:
    """Whether NAME's configuration changed since it was started or last reloaded."""
    try:
        applied = (layout.records / f"{name}.digest").read_text(encoding="ascii").strip()
    except OSError:
        return True
    return applied != digest(layout, name)


def _applied(layout: Layout, name: str) -> None:
    """Remember the configuration NAME now runs with."""
    (layout.records / f"{name}.digest").write_text(digest(layout, name) + "\n", encoding="ascii")


# On a system install each daemon is a systemd unit (stack/sysinstall.py).
SYSTEMD_UNITS = {"worker": "mailroom-worker", "redis": "redis-server", "rspamd": "rspamd",
                 "learnd": "mailroom-learnd", "dovecot": "dovecot", "disclaimer": "mailroom-filter",
                 "postfix": "postfix", "clamd": "clamav-daemon", "carddav": "mailroom-carddav"}


def running(layout: Layout, name: str) -> procs.Record | None:
    """Our record of NAME if the process it names is still alive (systemd's, on a system install)."""
    if isinstance(layout, SystemLayout):
        return _unit_main_process(SYSTEMD_UNITS[name])
    record = procs.read_record(layout.record(name))
    return record if record and record.alive() else None


def _unit_main_process(unit: str) -> procs.Record | None:
    """The main process systemd has for UNIT, if it runs."""
    try:
        shown = subprocess.run(["systemctl", "show", "-p", "MainPID", "--value", unit],
                               capture_output=True, text=True, timeout=30, check=False).stdout.strip()
    except OSError:  # no systemctl: nothing runs as a unit here
        return None
    pid = int(shown) if shown.isdigit() else 0
    start = procs.start_time(pid) if pid else None
    return procs.Record(pid, start) if start is not None else None


def start(layout: Layout, daemon: Daemon) -> procs.Record:
    """Run the daemon's start command (it daemonizes) and record the daemon's pid."""
    logfile = layout.log_file(daemon.name)
    layout.record(daemon.name).unlink(missing_ok=True)
    daemon.pidfile.unlink(missing_ok=True)
    _applied(layout, daemon.name)
    with open(logfile, "ab") as out:
        try:
            result = subprocess.run(
                daemon.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={**ENV, **dict(daemon.env)}, start_new_session=True,
                user=daemon.user, group=daemon.user,
                extra_groups=[] if daemon.user else None,
                cwd="/", timeout=LAUNCH_TIMEOUT, check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StackError(f"{daemon.name} could not be started: {exc}; see {logfile}") from exc
    if result.returncode != 0:
        raise StackError(
            f"{daemon.name} failed to start (exit {result.returncode}); see {logfile}:\n"
            + log_tail(logfile)
        )
    return _record_pid(layout, daemon)


def _record_pid(layout: Layout, daemon: Daemon) -> procs.Record:
    """Wait for the daemon's own pidfile and copy its pid into our record."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pid = procs.read_pidfile(daemon.pidfile)
        record = procs.write_record(layout.record(daemon.name), pid) if pid else None
        if record:
            return record
        time.sleep(0.05)
    raise StackError(
        f"{daemon.name} did not write its pidfile {daemon.pidfile}; see {layout.log_file(daemon.name)}:\n"
        + log_tail(layout.log_file(daemon.name))
    )


def stop(layout: Layout, name: str) -> bool:
    """Stop NAME if we started it and it runs; True if it was running."""
    record = running(layout, name)
    if record is None:
        layout.record(name).unlink(missing_ok=True)
        return False
    if not procs.terminate(record):
        raise StackError(f"{name} (pid {record.pid}) did not stop; see {layout.log_file(name)}")
    layout.record(name).unlink(missing_ok=True)
    return True


def reload(layout: Layout, daemon: Daemon) -> str:
    """Make a running daemon read its rendered configuration again; say what was done."""
    if isinstance(layout, SystemLayout):
        unit = SYSTEMD_UNITS[daemon.name]
        done = subprocess.run(["systemctl", "reload-or-restart", unit], capture_output=True,
                              text=True, timeout=120, check=False)
        if done.returncode:
            raise StackError(f"systemctl reload-or-restart {unit}: {done.stderr.strip()}")
        return f"reloaded by systemd ({unit})"
    record = running(layout, daemon.name)
    if record is None:
        return "not running"
    if daemon.reload_signal is None:
        stop(layout, daemon.name)
        record = start(layout, daemon)
        return f"restarted (pid {record.pid})"
    _applied(layout, daemon.name)
    procs.send(record, daemon.reload_signal)
    return f"reloaded (pid {record.pid})"


def check_rspamd(layout: Layout) -> None:
    """Raise StackError in rspamadm's words unless Rspamd accepts its rendered configuration.

    A reload with a configuration Rspamd refuses would leave it without workers.
    """
    done = subprocess.run(checks.rspamd(layout.rspamd_etc)[1], capture_output=True, text=True,
                          timeout=120, check=False, stdin=subprocess.DEVNULL, env=ENV)
    if done.returncode:
        raise StackError("Rspamd refused the configuration: " + (done.stdout + done.stderr).strip())


def port_free(host: str, port: int) -> bool:
    """Whether nothing listens on HOST:PORT (a bind test, as the daemon would do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise StackError(f"cannot use {host}:{port}: {exc}") from exc
    return True


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts a TCP connection on HOST:PORT."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_answers(host: str, port: int, timeout: float = 10.0) -> bool:
    """Whether HOST:PORT accepts a connection within TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while not answers(host, port, 0.2):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def log_tail(path: Path, lines: int = 12) -> str:
    """The last LINES lines of a log file, indented, for an error message."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 8192))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return "  (no log)"
    return "\n".join("  " + line for line in text.splitlines()[-lines:])
