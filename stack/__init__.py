"""The local mail server: Postfix, Dovecot/Pigeonhole, Rspamd and Redis on loopback.

It reads the app's SQLite database live; `up(cfg)`, `down(cfg)` and `status(cfg)`
take a dict from core.config.load_config(). Everything it writes lives in STACK_DIR.
"""
from .errors import StackError
from .install import ensure_packages
from .manager import down, reload, start_daemon, stop_daemon, up
from .status import ServiceStatus, status, status_json

__all__ = [
    "ServiceStatus", "StackError", "down", "ensure_packages", "reload", "status",
    "start_daemon", "status_json", "stop_daemon", "up",
]
