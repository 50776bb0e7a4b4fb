"""The "webmail" blueprint itself, apart from its routes so that they can import it."""
from flask import Blueprint

bp = Blueprint("webmail", __name__)
