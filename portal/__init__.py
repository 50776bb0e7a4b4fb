"""Blueprint "portal": the self-service settings pages."""
from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/settings")

from . import filters, password, personal, spam, tester, views  # noqa: E402,F401  (routes register on bp)
