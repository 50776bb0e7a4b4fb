"""Flask extensions, created unbound; app.py calls init_app on each."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from core.db import db
from core.mail.pool import ConnectionPool

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
# Its storage comes from app.config (RATELIMIT_STORAGE_URI: the shared store, app.py).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
imap_pool = ConnectionPool()

__all__ = ["babel", "csrf", "db", "imap_pool", "limiter", "login_manager"]
