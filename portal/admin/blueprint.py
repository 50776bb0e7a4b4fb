"""The "admin" blueprint itself, apart from its routes so that they can import it."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
