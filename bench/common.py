"""Shared bits of the benchmarks: a throw-away stack, the app served by waitress."""
from __future__ import annotations

import contextlib
import socket
import statistics
import tempfile
import threading
from pathlib import Path

from core.config import load_config

PORT_KEYS = ("IMAP_PORT", "POP3_PORT", "SIEVE_PORT", "SMTP_PORT", "SUBMISSION_PORT",
             "RSPAMD_PROXY_PORT", "RSPAMD_NORMAL_PORT", "RSPAMD_CONTROLLER_PORT", "REDIS_PORT")


def free_ports(count: int) -> list[int]:
    """COUNT ports nothing listens on right now."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def scratch_overrides(root: Path | None = None) -> dict:
    """Config overrides for a stack in a new traversable temp dir on free ports."""
    root = root or Path(tempfile.mkdtemp(prefix="mrb-", dir="/tmp"))
    root.chmod(0o755)
    return {"ENV": "testing", "DATA_DIR": str(root), **dict(zip(PORT_KEYS, free_ports(len(PORT_KEYS))))}


def config(overrides: dict) -> dict:
    """The full configuration for OVERRIDES."""
    return load_config(overrides)


@contextlib.contextmanager
def served(app):
    """Serve APP with waitress on a free port; yield its base URL."""
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()


def summary(samples: list[float]) -> str:
    """Median, min and max in milliseconds."""
    ms = [s * 1000 for s in samples]
    return f"median {statistics.median(ms):7.1f} ms   min {min(ms):7.1f}   max {max(ms):7.1f}   n={len(ms)}"
