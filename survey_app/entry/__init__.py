"""Paper-form data entry for clerks (and the supervisor's resolution of double entry)."""

from flask import Blueprint

bp = Blueprint("entry", __name__, url_prefix="/entry")
