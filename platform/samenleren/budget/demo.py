"""The budget in the demo: editions with their costs, and the invoices of the editions that have
ended and of the coach days, booked through the services as a programme admin would."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, func, select

from samenleren.budget.actuals import ActualInput, add_actuals
from samenleren.budget.models import Actual, Category
from samenleren.budget.planning import rename_categories, set_year_budget
from samenleren.catalogue.models import Edition, Enrolment, EnrolmentStatus, Training
from samenleren.coaching.models import CoachDay
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.tenancy import require_tenant
from samenleren.identity.models import Role, RoleAssignment, User

#: A trainer's fee per edition (cents), by position of the training in the catalogue.
FEES = (65000, 45000, 55000, 40000)
#: Materials per learner (cents).
PER_LEARNER = 2500
#: The year's budget of a tenant whose manifest gives none (cents).
DEMO_BUDGET = 500000
#: Room and lunch on a coach day (cents).
COACH_DAY_COST = 18000


def seed_budget() -> None:
    """Costs on every edition and the invoices of what has happened; nothing when the tenant has
    booked an expense already or has no programme admin."""
    if db.session.scalar(select(Actual.id).limit(1)) is not None:
        return
    admin = db.session.scalar(
        select(User)
        .join(
            RoleAssignment,
            and_(RoleAssignment.tenant_id == User.tenant_id, RoleAssignment.user_id == User.id),
        )
        .where(RoleAssignment.role == Role.PROGRAMME_ADMIN, User.active.is_(True))
        .order_by(User.name)
        .limit(1)
    )
    if admin is None:
        return
    today = local_today()
    titles = list(db.session.scalars(select(Training.title).order_by(Training.title)))
    enrolled = dict(
        db.session.execute(
            select(Enrolment.edition_id, func.count(Enrolment.id))
            .where(Enrolment.status == EnrolmentStatus.ENROLLED)
            .group_by(Enrolment.edition_id)
        ).all()
    )
    editions = db.session.execute(
        select(Edition, Training.title)
        .join(
            Training,
            and_(Training.tenant_id == Edition.tenant_id, Training.id == Edition.training_id),
        )
        .order_by(Edition.starts_on)
    ).all()
    known = {edition.id for edition, _title in editions}
    number = 0
    invoices: list[ActualInput] = []
    for edition, title in editions:
        edition.cost_fixed_cents = FEES[titles.index(title) % len(FEES)]
        edition.cost_per_participant_cents = PER_LEARNER
        invoiced_on = edition.ends_on + timedelta(days=14)
        if edition.cancelled or invoiced_on > today:
            continue
        number += 1
        reference = f"F{invoiced_on.year}-{number:03d}"
        invoices.append(
            ActualInput(
                invoiced_on, edition.cost_fixed_cents, str(Category.TRAINERS), edition.id, reference
            )
        )
        learners = int(enrolled.get(edition.id, 0))
        if learners:
            invoices.append(
                ActualInput(
                    invoiced_on,
                    PER_LEARNER * learners,
                    str(Category.MATERIALS),
                    edition.id,
                    reference + "M",
                    "Werkboeken",
                )
            )
    for day in db.session.scalars(select(CoachDay).where(CoachDay.held_on <= today)):
        invoices.append(
            ActualInput(
                day.held_on, COACH_DAY_COST, str(Category.COACHING), None, "", day.title[:300]
            )
        )
    add_actuals(invoices, admin, source="import", known_editions=known)
    # This year's budget set aside per category, and a category under the province's own name.
    set_year_budget(
        today.year,
        require_tenant().budget_yearly_cents or DEMO_BUDGET,
        {
            str(Category.COACHING): 100000,
            str(Category.TRAINERS): 250000,
            str(Category.VENUES): 50000,
            str(Category.MATERIALS): 60000,
        },
        admin,
    )
    rename_categories({str(Category.VENUES): "Zalen en catering"}, admin)
    db.session.flush()
