"""Pigeonhole with the stack's configuration: the global before-scripts and `sieve-test`.

The before-scripts (stack/templates/sieve/before.d) run for every delivery ahead of the
person's own script; their per-person switches come from Dovecot's userdb as
`sieve_env_mailroom_*` settings. `dry_run` evaluates a script against a message with
`sieve-test` exactly as delivery would, but performs no action.
"""
from __future__ import annotations

import logging
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import StackError
from .perms import MAIL_USER
from .layout import Layout
from .files import TEMPLATES, write_file

log = logging.getLogger(__name__)
BEFORE_TEMPLATES = TEMPLATES / "sieve" / "before.d"
MAIN_SCRIPT = "mailroom"  # the file name the tested script gets, so its errors say "mailroom:"
# dovecot.conf's mail_uid: sieve-test drops to it when it runs for a user (-u).
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
TIMEOUT = 20.0
# "   7: fileinto action" / "  10: stop command; end all script execution"
TRACE_STEP = re.compile(r"^\s*(\d+): (.+?) (action|command)\b")
TRACE_SCRIPT = re.compile(r"## Started executing script '([^']+)'")
# "mailroom: line 1: error: unknown command 'foo' (only reported once ...)."
SCRIPT_ERROR = re.compile(r"^mailroom: line (\d+): (?:error: )?(.*)")


class DryRunFailed(StackError):
    """sieve-test refused the script or could not run; `line` is set for script errors."""

    def __init__(self, message: str, line: int | None = None, unavailable: bool = False) -> None:
        super().__init__(message)
        self.line = line
        self.unavailable = unavailable


@dataclass
class ScriptRun:
    """One script's part of a dry run: its actions, and what ran on which line."""

    name: str
    actions: list[str] = field(default_factory=list)
    steps: dict[int, list[str]] = field(default_factory=dict)


@dataclass
class DryRun:
    """What delivery would do with one message, script by script, in the order they run."""

    scripts: list[ScriptRun] = field(default_factory=list)
    implicit_keep: list[str] = field(default_factory=list)
    trace: str = ""

    @classmethod
    def from_json(cls, data: dict) -> "DryRun":
        """The DryRun that dataclasses.asdict() made DATA of, after a trip through JSON."""
        scripts = [ScriptRun(s["name"], s["actions"], {int(k): v for k, v in s["steps"].items()})
                   for s in data["scripts"]]
        return cls(scripts, data["implicit_keep"], data["trace"])

    def script(self, name: str) -> ScriptRun:
        """The part of script NAME, created empty when it did not run."""
        for run in self.scripts:
            if run.name == name:
                return run
        self.scripts.append(ScriptRun(name))
        return self.scripts[-1]


def before_scripts(layout: Layout) -> list[Path]:
    """The global before-scripts Dovecot runs, in the order it runs them."""
    return sorted((layout.sieve / "before.d").glob("*.sieve"))


def install_before_scripts(layout: Layout) -> list[Path]:
    """Copy the packaged before-scripts into STACK_DIR; return those that changed."""
    folder = layout.sieve / "before.d"
    changed = []
    for template in sorted(BEFORE_TEMPLATES.glob("*.sieve")):
        target = folder / template.name
        if write_file(target, template.read_text(encoding="utf-8"), 0o644):
            changed.append(target)
    return changed


def compile_folder(layout: Layout, folder: Path) -> None:
    """Compile the scripts in FOLDER with sievec: the mail uid cannot write binaries there."""
    result = subprocess.run(
        ["sievec", "-c", str(layout.dovecot_conf), str(folder)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise StackError(f"sievec could not compile {folder}: {result.stderr.strip()}")
    log.info("compiled the Sieve scripts in %s", folder)


def dry_run(layout: Layout, address: str, script: str, message: bytes,
            with_before: bool = True) -> DryRun:
    """Evaluate SCRIPT for ADDRESS against MESSAGE with sieve-test; nothing is executed.

    The script and message go through files in a private temporary directory (never
    on the command line); the address is the signed-in person's, already normalised.
    """
    work = Path(tempfile.mkdtemp(prefix="mailroom-sieve-"))
    try:
        script_path = work / f"{MAIN_SCRIPT}.sieve"
        message_path = work / "message.eml"
        script_path.write_text(script, encoding="utf-8")
        message_path.write_bytes(message)
        _hand_to_mail_user(work, script_path, message_path)
        argv = ["sieve-test", "-c", str(layout.dovecot_conf), "-u", address, "-a", address,
                "-t", "-", "-Tlevel=tests"]
        for before in before_scripts(layout) if with_before else []:
            argv += ["-s", str(before)]
        result = _run(argv + [str(script_path), str(message_path)])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if result.returncode != 0:
        raise _failure(result.stderr)
    # The trace goes to stdout with the report: nothing is read back from the directory
    # the mail uid owned by then.
    return _parse(result.stdout)


def _hand_to_mail_user(work: Path, *files: Path) -> None:
    """Give the finished FILES and their directory to the mail uid, which sieve-test becomes.

    Root writes only while the directory is still its own (0700), so nothing the mail
    uid could plant there is ever written through.
    """
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(MAIL_USER)
    for path in (*files, work):
        os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
        path.chmod(0o700 if path.is_dir() else 0o600)


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace", env=ENV, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DryRunFailed(f"sieve-test could not run: {exc}") from exc


def _failure(stderr: str) -> DryRunFailed:
    """The error sieve-test printed, with the line of the person's script when it names one."""
    for raw in stderr.splitlines():
        match = SCRIPT_ERROR.match(raw.strip())
        if match:
            return DryRunFailed(match.group(2), int(match.group(1)))
    text = "; ".join(line.split(": ", 1)[-1] for line in stderr.splitlines()
                     if "Error" in line or "Fatal" in line) or stderr.strip() or "sieve-test failed"
    log.warning("sieve-test failed: %s", text)
    return DryRunFailed(text, unavailable="auth" in text.lower())


def _parse(stdout: str) -> DryRun:
    """Read sieve-test's report (a section per script when there are several) and the
    trace that comes with it on stdout."""
    run = DryRun(trace=stdout)
    section: list[str] | None = None
    current = run.script(MAIN_SCRIPT) if "## Executing script:" not in stdout else None
    in_message = False
    for raw in stdout.splitlines():
        line = raw.strip()
        if line.startswith("## Executing script:"):
            current = run.script(Path(line.split(":", 1)[1].strip()).stem)
        elif line == "Performed actions:" and current is not None:
            section = current.actions
        elif line == "Implicit keep:":
            # Each script's section ends with the keep still pending; the last one counts.
            run.implicit_keep = section = []
        elif line in ("START MESSAGE", "END MESSAGE"):
            in_message = line == "START MESSAGE"
        elif section is not None and not in_message and line.startswith(("*", "+")):
            text = line.lstrip("*+ ").strip().rstrip(":")
            if line.startswith("+") and section:
                section[-1] += f" ({text})"
            else:
                section.append(text)
    _read_trace(run, stdout)
    return run


def _read_trace(run: DryRun, trace: str) -> None:
    """Note, per script, what ran on which line (actions and commands, not tests)."""
    current: ScriptRun | None = None
    for line in trace.splitlines():
        started = TRACE_SCRIPT.search(line)
        if started:
            current = run.script(started.group(1))
            continue
        step = TRACE_STEP.match(line)
        if step and current is not None:
            current.steps.setdefault(int(step.group(1)), []).append(f"{step.group(2)} {step.group(3)}")
