"""The training catalogue as employees see it."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from samenleren.catalogue.models import Training
from samenleren.core.web import get_or_404, login_required
from samenleren.extensions import db

bp = Blueprint("catalogue", __name__, template_folder="templates")


@bp.get("/<tenant>/trainings/")
@login_required
def list_trainings():
    trainings = db.session.scalars(select(Training).order_by(Training.title)).all()
    return render_template("catalogue/list_trainings.html", trainings=trainings)


@bp.get("/<tenant>/trainings/<training_id>")
@login_required
def show_training(training_id: str):
    training = get_or_404(Training, training_id)
    return render_template("catalogue/show_training.html", training=training)
