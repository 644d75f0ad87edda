"""Pages of the trajectories domain."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("trajectories", __name__, template_folder="templates")
