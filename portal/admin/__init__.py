"""Blueprint "admin": the server's and domains' administration."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import aliases, disclaimers, domains, groups, mailboxes, shared, spam, views  # noqa: E402,F401  (routes register on bp)
