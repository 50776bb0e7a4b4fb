"""Install the Debian packages the local stack (and the browser tests) need."""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from .errors import StackError

log = logging.getLogger(__name__)

DAEMON_PACKAGES = (
    "dovecot-imapd", "dovecot-pop3d", "dovecot-managesieved", "dovecot-sieve",
    "dovecot-lmtpd", "dovecot-sqlite", "postfix", "postfix-sqlite", "rspamd",
    # The same lookups on a PostgreSQL directory (stack/pgsql.py).
    "dovecot-pgsql", "postfix-pgsql",
    # Directory users (MAILROOM_ACCOUNT_PROVIDER=ldap): the daemons' LDAP lookups, and the
    # slapd the local stack runs for MAILROOM_LDAP_URL=local (stack/slapd.py).
    "dovecot-ldap", "postfix-ldap", "slapd",
    "redis-server", "openssl", "sqlite3", "ca-certificates",
    # Postfix's smtp client signs in to a smarthost through Cyrus SASL's PLAIN/LOGIN modules.
    "libsasl2-modules",
    # ClamAV's scanner for Rspamd's antivirus module (the stack runs its own clamd).
    "clamav-daemon", "clamav-base",
    # The CardDAV server phones and the webmail keep contacts in (stack/carddav), and the
    # vCard library it parses them with.
    "radicale", "python3-radicale", "python3-vobject",
    # Not a daemon: libmagic for the web app's attachment type checks (python-magic).
    "libmagic1",
)
BROWSER_PACKAGES = ("chromium", "fonts-dejavu-core")
# Without the first answer Postfix's installer asks which kind of mail server to set up;
# the second keeps freshclam (a clamav-daemon dependency) from becoming a daemon of its
# own that downloads signatures into /var/lib/clamav: the stack's clamd reads its own
# folder, and a production server runs freshclam for it (README, "Antivirus"); the third
# keeps slapd's installer from creating a directory of its own in /etc/ldap/slapd.d and
# /var/lib/ldap (the stack's slapd has its own files, and a system slapd is not wanted).
PRESEED = ("postfix postfix/main_mailer_type select No configuration\n"
           "clamav-freshclam clamav-freshclam/autoupdate_freshclam select manual\n"
           "slapd slapd/no_configuration boolean true\n")
# invoke-rc.d asks this script whether a package may start its daemon; 101 = no.
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


def missing_packages(packages) -> list[str]:
    """The packages of PACKAGES that dpkg does not list as installed."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", *packages],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
    )
    installed = {
        line.split()[0] for line in result.stdout.splitlines()
        if line.endswith(" installed")
    }
    return [name for name in packages if name not in installed]


def ensure_packages(browser: bool = False) -> list[str]:
    """Install whatever is missing; return the packages installed (empty if none).

    Raises StackError (listing the packages) when not root or without apt-get.
    """
    wanted = DAEMON_PACKAGES + (BROWSER_PACKAGES if browser else ())
    missing = missing_packages(wanted) if shutil.which("dpkg-query") else list(wanted)
    if not missing:
        return []
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StackError(
            "missing Debian packages: " + " ".join(missing) + "\nInstall them as root with: "
            "apt-get update && apt-get install -y --no-install-recommends " + " ".join(missing)
        )
    log.info("installing %s", " ".join(missing))
    _apt(["apt-get", "update"])
    _run(["debconf-set-selections"], stdin=PRESEED)
    with _no_daemon_starts():
        _apt(["apt-get", "install", "-y", "--no-install-recommends", *missing])
    still = missing_packages(missing)
    if still:
        raise StackError("apt-get did not install: " + " ".join(still))
    return missing


def _apt(argv: list[str]) -> None:
    """Run an apt-get command non-interactively."""
    _run(argv, env={**os.environ, **APT_ENV})


def _run(argv: list[str], stdin: str = "", env: dict | None = None) -> None:
    """Run ARGV (fixed program names and package names only), raising StackError on failure."""
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise StackError(f"{' '.join(argv[:2])} failed (exit {result.returncode}):\n{tail}")


class _no_daemon_starts:
    """While installing, keep packages from starting Dovecot on 143, Postfix on 25, ...

    Uses the policy-rc.d hook of invoke-rc.d, only if the machine has none already.
    """

    def __enter__(self):
        self.created = False
        if not POLICY_RC_D.exists():
            POLICY_RC_D.write_text("#!/bin/sh\n# temporary, written by Mailroom's installer\nexit 101\n")
            POLICY_RC_D.chmod(0o755)
            self.created = True
        return self

    def __exit__(self, *exc_info):
        if self.created:
            POLICY_RC_D.unlink(missing_ok=True)
        return False
