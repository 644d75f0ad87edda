"""Pages of the dashboards domain."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboards", __name__, template_folder="templates")
