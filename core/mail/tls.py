"""TLS contexts for the mail clients."""
from __future__ import annotations

import ssl

SYSTEM = "system"


def client_context(ca_file: str) -> ssl.SSLContext:
    """A verifying client context; CA_FILE ("system" or empty: the system's CAs) is trusted."""
    ctx = ssl.create_default_context()
    if ca_file and ca_file != SYSTEM:
        ctx.load_verify_locations(ca_file)
    return ctx
