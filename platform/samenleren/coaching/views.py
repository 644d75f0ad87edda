"""Pages of the coaching domain."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("coaching", __name__, template_folder="templates")
