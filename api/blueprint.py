"""The "api" blueprint itself, apart from its routes so that they can import it."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
