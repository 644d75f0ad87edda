"""The report pages: `/<slug>/insight/` for programme admins, `/<slug>/insight/team` for a
manager (their own team only, the same figures and the same small-group rule), and the
figures per organisation goal as CSV at `/<slug>/insight/report.csv` (columns in README).

The period and filters are a GET form; a refused value shows the form again with the message
(422) and no figures.
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import aliased

from samenleren.catalogue.models import Edition, Training
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.spreadsheets import neutralise
from samenleren.core.tenancy import require_tenant
from samenleren.core.web import form_action, role_required, see_other
from samenleren.identity.models import Department, Role, User
from samenleren.insight import report
from samenleren.insight.cache import report_figures
from samenleren.insight.comparison import MIN_TENANTS, page_state, set_sharing
from samenleren.insight.figures import Share
from samenleren.insight.mail import set_mail_choice
from samenleren.insight.scope import Scope, parse_scope

bp = Blueprint("insight", __name__, template_folder="templates")

#: The CSV's columns, in order (README, "Programme insight").
CSV_COLUMNS = (
    "period",
    "period_start",
    "period_end",
    "goal_code",
    "goal_title",
    "trajectories",
    "expected_results",
    "rated_by_learner",
    "transfer_by_learner_pct",
    "rated_by_manager",
    "transfer_by_manager_pct",
    "rated_by_both",
    "disagreement_pct",
)


#: More editions than this in the period: the form offers a training's editions only once a
#: training is chosen (a large province ends some 600 editions a year).
EDITION_CHOICES = 150


def _options(scope: Scope | None) -> dict:
    """What the filter form offers (3 queries): the trainings, their providers and trainers
    (one row per combination that has editions); the editions that ended in the period, of the
    chosen training if there is one; departments."""
    trainer = aliased(User)
    combinations = db.session.execute(
        select(
            Training.id.label("training_id"),
            Training.title,
            Training.provider,
            trainer.id.label("trainer_id"),
            trainer.name.label("trainer_name"),
        )
        .join(Edition, Edition.training_id == Training.id)
        .outerjoin(trainer, trainer.id == Edition.trainer_id)
        .distinct()
    ).all()
    trainings = sorted(
        {(str(r.training_id), r.title) for r in combinations}, key=lambda item: item[1].lower()
    )
    trainers = sorted(
        {(str(r.trainer_id), r.trainer_name) for r in combinations if r.trainer_id},
        key=lambda item: item[1].lower(),
    )
    editions: list[tuple[str, str]] = []
    too_many = False
    if scope is not None:
        query = (
            select(Edition.id, Edition.name, Training.title)
            .join(Training, Training.id == Edition.training_id)
            .where(Edition.ends_on.between(scope.period.starts_on, scope.period.ends_on))
            .order_by(Training.title, Edition.starts_on)
            .limit(EDITION_CHOICES + 1)
        )
        if scope.training is not None:
            query = query.where(Edition.training_id == scope.training)
        rows = db.session.execute(query).all()
        too_many = len(rows) > EDITION_CHOICES
        if not too_many:
            editions = [(str(r.id), f"{r.title} · {r.name}") for r in rows]
    return {
        "trainings": trainings,
        "editions": editions,
        "too_many_editions": too_many,
        "trainers": trainers,
        "providers": sorted({r.provider for r in combinations if r.provider}),
        "departments": [
            (str(d.id), d.name)
            for d in db.session.scalars(select(Department).order_by(Department.name))
        ],
    }


def _page(team: bool):
    manager = current_user.id if team else None
    try:
        scope = parse_scope(request.args, local_today(), manager=manager)
    except InvalidInput as refused:
        return (
            render_template(
                "insight/report.html",
                team=team,
                figures=None,
                sections=[],
                options=_options(None),
                values=request.args,
                errors=refused.errors,
            ),
            422,
        )
    found = report_figures(scope)
    return render_template(
        "insight/report.html",
        team=team,
        figures=found,
        headline=report.headline(found),
        sections=report.sections(found),
        options=_options(scope),
        values=request.args,
        errors={},
        state=None if team else page_state(current_user, scope.period.ends_on.year),
        min_tenants=MIN_TENANTS,
    )


@bp.get("/<tenant>/insight/")
@role_required(Role.PROGRAMME_ADMIN)
def show_report():
    return _page(team=False)


@bp.post("/<tenant>/insight/mail")
@role_required(Role.PROGRAMME_ADMIN)
def choose_mail():
    """The admin's own choice: the quarterly report mail, or not."""
    wanted = request.form.get("quarterly_mail") == "yes"
    return form_action(
        lambda: set_mail_choice(current_user, wanted),
        invalid=lambda errors: _page(team=False),
        done=see_other("insight.show_report"),
        message=gettext("You get the quarterly report by mail.")
        if wanted
        else gettext("You no longer get the quarterly report by mail."),
    )


@bp.post("/<tenant>/insight/sharing")
@role_required(Role.PROGRAMME_ADMIN)
def choose_sharing():
    """The organisation's choice: share its aggregated figures in the comparison, or not."""
    share = request.form.get("share") == "yes"
    return form_action(
        lambda: set_sharing(current_user, share),
        invalid=lambda errors: _page(team=False),
        done=see_other("insight.show_report"),
        message=gettext("The organisation shares its aggregated figures.")
        if share
        else gettext("The organisation no longer shares its figures."),
    )


@bp.get("/<tenant>/insight/team")
@role_required(Role.MANAGER)
def show_team_report():
    return _page(team=True)


def _pct(share: Share) -> str:
    if share.hidden:
        return "<5"
    return "" if share.percent is None else str(share.percent)


def _n(value: int, hidden: bool) -> str:
    return "<5" if hidden else str(value)


@bp.get("/<tenant>/insight/report.csv")
@role_required(Role.PROGRAMME_ADMIN)
def report_csv():
    """One row per organisation goal for the chosen period and filters."""
    try:
        scope: Scope = parse_scope(request.args, local_today())
    except InvalidInput as refused:
        message = "; ".join(refused.errors.values())
        return Response(message, status=422, mimetype="text/plain")
    found = report_figures(scope)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    period = scope.period
    for row in found.goals:
        t = row.transfer
        writer.writerow(
            [
                period.key,
                period.starts_on.isoformat(),
                period.ends_on.isoformat(),
                neutralise(row.goal.code),
                neutralise(report.goal_title(row.goal)),
                _n(row.trajectories.value, row.trajectories.hidden),
                _n(row.expected_results.value, row.expected_results.hidden),
                _n(t.by_learner.whole, t.by_learner.hidden),
                _pct(t.by_learner),
                _n(t.by_manager.whole, t.by_manager.hidden),
                _pct(t.by_manager),
                _n(t.disagreement.whole, t.disagreement.hidden),
                _pct(t.disagreement),
            ]
        )
    filename = f"insight-{require_tenant().slug}-{period.key.replace('..', '_')}.csv"
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
