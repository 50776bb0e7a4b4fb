"""Blueprint "webmail": reading and writing mail."""
from flask import Blueprint

bp = Blueprint("webmail", __name__)

from . import actions, compose, format, read, views  # noqa: E402,F401  (routes register on bp)
