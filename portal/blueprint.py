"""The "portal" blueprint itself, apart from its routes so that they can import it."""
from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/settings")
