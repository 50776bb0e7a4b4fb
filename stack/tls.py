"""The stack's self-signed TLS certificate (STACK_DIR/tls/{cert,key}.pem)."""
from __future__ import annotations

import logging
import os
import subprocess

from . import perms
from .errors import StackError
from .layout import Layout
from .quoting import render_text
from .files import TEMPLATES, write_file

log = logging.getLogger(__name__)
DAYS = "3650"


def ensure_certificate(cfg: dict, layout: Layout) -> bool:
    """Create the certificate if missing or if the host name changed; True if made."""
    perms.ensure_dir(layout.tls, 0o755)
    values = {"hostname": cfg["MAIL_HOSTNAME"], "listen": cfg["LISTEN_ADDRESS"]}
    text = render_text((TEMPLATES / "openssl.cnf").read_text(encoding="utf-8"), values, "bare")
    conf = layout.tls / "openssl.cnf"
    changed = write_file(conf, text, 0o644)
    if not changed and layout.cert.exists() and layout.key.exists():
        return False
    _generate(layout, conf)
    log.info("created TLS certificate %s", layout.cert)
    return True


def _generate(layout: Layout, conf) -> None:
    """Run openssl req into temporary files, then move them into place."""
    key_tmp, cert_tmp = layout.tls / ".key.pem.tmp", layout.tls / ".cert.pem.tmp"
    # The key file exists with mode 0600 before openssl writes into it.
    os.close(os.open(key_tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600))
    argv = [
        "openssl", "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-days", DAYS, "-config", str(conf),
        "-keyout", str(key_tmp), "-out", str(cert_tmp),
    ]
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(f"openssl could not create the certificate: {result.stderr.strip()}")
    # Dovecot and Postfix read the key as root before dropping privileges.
    perms.set_owner(key_tmp, 0o600)
    perms.set_owner(cert_tmp, 0o644)
    os.replace(key_tmp, layout.key)
    os.replace(cert_tmp, layout.cert)
