"""Bring the local mail stack up and down: install, prepare, render, start, wait, stop."""
from __future__ import annotations

import fcntl
import logging
import os
import time
from contextlib import contextmanager

from core.config import local_ldap, local_postgres_url

from . import checks, daemons, pgsql, postgres, prepare, procs, secretfiles, slapd, tls, worker
from .daemons import Daemon
from .errors import StackError
from .install import ensure_packages
from .layout import DAEMONS, Layout, daemon_ports
from .render import render_all

log = logging.getLogger(__name__)
READY_TIMEOUT = 90.0  # per `up`; the slowest part is Rspamd (see daemons.LAUNCH_TIMEOUT)


def up(cfg: dict) -> list[str]:
    """Start every daemon of the stack that is not running; return lines to show.

    Safe to call on a running stack: running daemons are left alone, or reloaded
    when the files they read (configuration, certificate) changed since they started.
    """
    began = time.monotonic()
    _require_root()
    _require_local(cfg)
    ensure_packages()
    layout = Layout.from_config(cfg)
    _check_distinct_ports(cfg)
    prepare.prepare_tree(layout)
    with _locked(layout):
        lines = []
        if postgres.is_local(cfg):  # before anything opens the database
            lines += postgres.ensure_local(cfg, layout, secretfiles.local_postgres_password(layout))
            cfg = {**cfg, "DATABASE_URL": local_postgres_url(cfg)}  # now with its password
            layout = Layout.from_config(cfg)
        if local_ldap(cfg):  # before Dovecot and Postfix, which look users up there
            lines += slapd.ensure_local(cfg, layout)
        lines += _start_or_keep(cfg, layout)
    lines.append(f"stack ready in {time.monotonic() - began:.1f} s; database and secrets in "
                 f"{layout.data_dir}, files and logs in {layout.root}")
    return lines


@contextmanager
def _locked(layout: Layout):
    """Serialize `up` and `down` of one STACK_DIR (say, a CLI call while tests run)."""
    with open(layout.records / "lock", "w", encoding="ascii") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _start_or_keep(cfg: dict, layout: Layout) -> list[str]:
    """Render, then start what is not running and reload what runs on stale files."""
    lines = _prepare(cfg, layout)
    render_all(cfg, layout, secretfiles.rspamd_password(cfg, layout))
    worker.write_settings(layout, cfg)
    prepare.compile_sieve_before(layout)
    specs = daemons.specs(layout)
    to_start = [name for name in DAEMONS if not daemons.running(layout, name)]
    _check_free_ports(cfg, to_start)
    reloaded = [name for name in DAEMONS if name not in to_start and daemons.stale(layout, name)]
    for name in DAEMONS:
        if name not in to_start:
            lines.append(_keep_running(layout, specs[name], name in reloaded))
    lines += _start_all(cfg, layout, [specs[name] for name in to_start])
    _wait_ready(cfg, layout, reloaded)
    return lines


def _keep_running(layout: Layout, spec: Daemon, stale: bool) -> str:
    """Leave a running daemon alone, or make it read its changed configuration."""
    if not stale:
        return f"{spec.name}: already running (pid {daemons.running(layout, spec.name).pid})"
    return f"{spec.name}: already running; configuration changed, {daemons.reload(layout, spec)}"


def _require_local(cfg: dict) -> None:
    """`up` and `down` run the loopback stack; a system install's services are systemd's."""
    if cfg.get("STACK") == "system":
        raise StackError("this is a system install (MAILROOM_STACK=system): its services are "
                         "systemd units; use systemctl, or `stack install --system` to reconfigure")


def _require_root() -> None:
    """Dovecot's and Postfix's masters must start as root (they drop privileges per service)."""
    if os.geteuid() != 0:
        raise StackError("the local mail stack must be started as root (Dovecot and Postfix need it)")


def _prepare(cfg: dict, layout: Layout) -> list[str]:
    """Directories, secrets, database schema and certificate; return notes worth showing."""
    lines = []
    for name in secretfiles.ensure_secrets(layout):
        lines.append(f"generated {layout.secrets / name}")
    from core.db import Unusable, upgrade  # imported late: the rest of stack/ needs no SQLAlchemy

    try:
        upgrade(str(cfg["DATABASE_URL"]))
    except Unusable as exc:
        raise StackError(str(exc)) from None
    if pgsql.is_postgresql(cfg):  # the daemons' read-only roles, before they first connect
        pgsql.grant(str(cfg["DATABASE_URL"]), secretfiles.postgres_passwords(cfg, layout))
    prepare.check_database(layout)
    if tls.ensure_certificate(cfg, layout):
        lines.append(f"created TLS certificate {layout.cert}")
    return lines


def _check_distinct_ports(cfg: dict) -> None:
    """Every service needs its own port."""
    seen: dict[int, str] = {}
    for name in DAEMONS:
        for key, port in daemon_ports(cfg, name):
            if not 0 < port < 65536:
                raise StackError(f"MAILROOM_{key} must be a port number, not {port}")
            if port in seen:
                raise StackError(f"MAILROOM_{key} and MAILROOM_{seen[port]} are both {port}")
            seen[port] = key


def _check_free_ports(cfg: dict, names: list[str]) -> None:
    """Refuse to start NAMES if a port they need is taken by something else, naming the variable."""
    host = str(cfg["LISTEN_ADDRESS"])
    for name in names:
        for key, port in daemon_ports(cfg, name):
            if not daemons.port_free(host, port):
                raise StackError(
                    f"port {host}:{port} ({name}) is already in use by another program: "
                    f"stop it or set MAILROOM_{key} to a free port"
                )


def _start_all(cfg: dict, layout: Layout, specs: list[Daemon]) -> list[str]:
    """Start SPECS in order, then wait for all their ports; undo our starts on failure."""
    started: list[str] = []
    try:
        for spec in specs:
            record = daemons.start(layout, spec)
            started.append(spec.name)
            log.info("%s started (pid %s)", spec.name, record.pid)
        _wait_ready(cfg, layout, started)
    except BaseException:
        for name in reversed(started):
            daemons.stop(layout, name)
        raise
    return [f"{name}: started (pid {daemons.running(layout, name).pid}){_where(cfg, name)}"
            for name in started]


def _where(cfg: dict, name: str) -> str:
    """' on host:port, …' for a daemon that listens; nothing for a background worker."""
    ports = [f"{cfg['LISTEN_ADDRESS']}:{port}" for _, port in daemon_ports(cfg, name)]
    return f" on {', '.join(ports)}" if ports else ""


def _wait_ready(cfg: dict, layout: Layout, names: list[str]) -> None:
    """Wait until every port of NAMES answers; fail early if a daemon dies."""
    host = str(cfg["LISTEN_ADDRESS"])
    pending = {(name, key, port) for name in names for key, port in daemon_ports(cfg, name)}
    deadline = time.monotonic() + READY_TIMEOUT
    while pending:
        pending = {item for item in pending if not daemons.answers(host, item[2], 0.2)}
        for name, key, port in sorted(pending):
            if not daemons.running(layout, name):
                raise _not_ready(layout, name, f"exited before it opened port {port}")
            if time.monotonic() > deadline:
                raise _not_ready(
                    layout, name, f"did not open port {host}:{port} (MAILROOM_{key}) "
                    f"within {READY_TIMEOUT:.0f} s"
                )
        if pending:
            time.sleep(0.1)


def _not_ready(layout: Layout, name: str, what: str) -> StackError:
    """The error for a daemon that did not come up, with the end of its log."""
    logfile = layout.log_file(name)
    return StackError(f"{name} {what}; see {logfile}:\n{daemons.log_tail(logfile)}")


def down(cfg: dict) -> list[str]:
    """Stop the daemons this stack started (only ours, found by our pid records)."""
    _require_local(cfg)
    layout = Layout.from_config(cfg)
    if not layout.records.is_dir():
        return [f"{name}: not running" for name in reversed(DAEMONS)]
    with _locked(layout):
        lines = [
            f"{name}: {'stopped' if daemons.stop(layout, name) else 'not running'}"
            for name in reversed(DAEMONS)
        ]
        if local_ldap(cfg):
            lines.append(slapd.stop(layout))
        if postgres.is_local(cfg):  # last: the others read it
            cluster = postgres.local_cluster(cfg, layout)
            lines.append(f"postgresql: {'stopped' if postgres.running(cluster) else 'not running'}")
            postgres.stop(cluster)
        return lines


def stop_daemon(cfg: dict, name: str) -> bool:
    """Stop the one daemon NAME, leaving the others running; True if it was running.

    For taking one part down on purpose (the fault tests do); `start_daemon` brings it back.
    """
    layout = _one_daemon(cfg, name)
    with _locked(layout):
        return daemons.stop(layout, name)


def start_daemon(cfg: dict, name: str) -> str:
    """Start the one daemon NAME from its rendered configuration and wait until it answers.

    Nothing is rendered again: the daemon comes back exactly as `up` left it.
    """
    _require_root()
    layout = _one_daemon(cfg, name)
    with _locked(layout):
        if daemons.running(layout, name):
            return f"{name}: already running"
        _check_free_ports(cfg, [name])
        return _start_all(cfg, layout, [daemons.specs(layout)[name]])[0]


def _one_daemon(cfg: dict, name: str) -> Layout:
    """The layout of the local stack that runs daemon NAME (one of DAEMONS), once `up` ran."""
    _require_local(cfg)
    if name not in DAEMONS:
        raise StackError(f"there is no daemon {name!r}; the stack runs {', '.join(DAEMONS)}")
    layout = Layout.from_config(cfg)
    if not layout.records.is_dir():
        raise StackError("the stack has never been started here: run `flask --app app stack up`")
    return layout


def reload(cfg: dict, name: str) -> str:
    """Re-render every config file and make daemon NAME use its own; say what was done."""
    layout = Layout.from_config(cfg)
    with _locked(layout):
        render_all(cfg, layout, secretfiles.rspamd_password(cfg, layout))
        if name == "rspamd":
            daemons.check_rspamd(layout)
        done = daemons.reload(layout, daemons.specs(layout)[name])
        _wait_ready(cfg, layout, [name] if daemons.running(layout, name) else [])
    return f"{name}: {done}"


def apply_server_settings(cfg: dict, timeout: float = 10.0) -> str:
    """Have `postfix check` and `doveconf` read Postfix's and Dovecot's files as they
    would be rendered now, then render them and reload each of Postfix, Dovecot and
    Rspamd (antivirus, attachment blocking; `rspamadm configtest` first) whose files
    changed; say what was done. StackError in the daemon's words if one refuses: nothing
    changed.

    Dovecot's master answers SIGHUP by rereading its configuration and replacing its
    login, auth and config processes; open IMAP/POP3 sessions keep theirs until they end
    (a mail setting such as deleted-to-Trash reaches the next session). Returning once
    the old login processes are gone means the next connection gets the new settings.
    """
    layout = Layout.from_config(cfg)
    password = secretfiles.rspamd_password(cfg, layout)
    checks.postfix_candidate(cfg, layout, password)
    checks.dovecot_candidate(cfg, layout, password)
    with _locked(layout):
        render_all(cfg, layout, password)
    done = []
    for name in ("postfix", "dovecot", "rspamd"):
        if daemons.running(layout, name) is None:
            done.append(f"{name}: not running")
        elif daemons.stale(layout, name):
            did, left = _reload_and_retire(cfg, name, timeout, _RETIRED[name])
            done.append(did + (f"; {len(left)} old process(es) still finishing a session" if left else ""))
    return "; ".join(done) or "the configuration was already live"


# The processes a reload must see gone before the next connection surely gets the new
# configuration: all of Postfix's (they finish their session and exit); of Dovecot, those
# that authenticate logins (a mail session keeps its process, and the old settings, until
# it ends).
_RETIRED = {"postfix": lambda comm: True,
            "dovecot": lambda comm: comm.endswith("-login") or comm in ("auth", "config"),
            # Rspamd: every old worker (a milter worker of the old rules could take the next message).
            "rspamd": lambda comm: True}


def _command_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _reload_and_retire(cfg: dict, name: str, timeout: float,
                       retired=lambda comm: True) -> tuple[str, list[procs.Record]]:
    """Reload NAME and wait up to TIMEOUT until no process of its old configuration runs
    (of those whose command name RETIRED picks); what was done, and the old processes
    still alive."""
    master = daemons.running(Layout.from_config(cfg), name)
    old = [r for r in procs.tree(master.pid)
           if r.pid != master.pid and retired(_command_name(r.pid))] if master else []
    done = reload(cfg, name)
    deadline = time.monotonic() + timeout
    while any(r.alive() for r in old) and time.monotonic() < deadline:
        time.sleep(0.05)
    return done, [r for r in old if r.alive()]


def reload_rspamd(cfg: dict, timeout: float = 30.0) -> None:
    """Re-render and reload Rspamd, returning once no worker of the old configuration runs.

    Rspamd answers SIGHUP by starting new workers and retiring the old ones when they
    are idle; until then an old milter worker could still scan the next message. A
    configuration `rspamadm configtest` refuses is not loaded: StackError in its words.
    """
    if daemons.running(Layout.from_config(cfg), "rspamd") is None:
        raise StackError("Rspamd is not running; start the stack with `flask --app app stack up`")
    if _reload_and_retire(cfg, "rspamd", timeout)[1]:
        raise StackError(f"Rspamd's old workers did not stop within {timeout:.0f} s")
