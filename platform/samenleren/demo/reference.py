"""Reference data of a demo tenant: restricted trainings, the coach pool and the coach days.

Written as rows (there is no user's click to go through); each adds only what is missing.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import select

from samenleren.catalogue.models import Training, TrainingDepartment
from samenleren.coaching.models import CoachDay, CoachDayAttendance, CoachProfile
from samenleren.core.extensions import db
from samenleren.core.tenant import Tenant
from samenleren.demo import texts
from samenleren.demo.dates import SEASONS, workday
from samenleren.identity.models import Department, User

#: Trainings open only to some departments (the others are open to everyone).
RESTRICTED = {
    "Omgevingswet in de praktijk": (
        "Ruimte en Economie",
        "Natuur en Water",
        "Wegen en Vaarwegen",
        "Juridische Zaken",
    ),
    "Coachend leidinggeven": ("Personeel en Organisatie", "Bedrijfsvoering", "Ruimte en Economie"),
}
#: Where the province's own rooms are; other tenants get a generic name.
CITIES = {"flevoland": "Lelystad", "gelderland": "Arnhem"}

# --- reference data: restricted trainings, the coach pool, coach days ---------------------------


def seed_training_departments(departments: dict[str, Department]) -> None:
    trainings = {t.title: t for t in db.session.scalars(select(Training))}
    existing = set(
        db.session.execute(select(TrainingDepartment.training_id, TrainingDepartment.department_id))
    )
    for title, names in RESTRICTED.items():
        training = trainings.get(title)
        if training is None or training.open_to_all:
            continue
        for name in names:
            if (training.id, departments[name].id) not in existing:
                db.session.add(
                    TrainingDepartment(training_id=training.id, department_id=departments[name].id)
                )


def seed_coach_pool(tenant: Tenant, coaches: Sequence[User], today: date) -> None:
    """A profile for every coach: capacity 2-4, trained in the past; adds only missing ones."""
    rng = random.Random(f"{tenant.slug}/coaches")  # noqa: S311 - demo data, not security
    have = set(db.session.scalars(select(CoachProfile.user_id)))
    for coach in coaches:
        capacity = rng.choice((2, 3, 3, 4))
        trained_on = today - timedelta(days=rng.randint(200, 1400))
        introduction = rng.choice(texts.COACH_INTRODUCTIONS)
        if coach.id not in have:
            db.session.add(
                CoachProfile(
                    user_id=coach.id,
                    capacity=capacity,
                    trained_on=trained_on,
                    introduction=introduction,
                )
            )
    db.session.flush()


def seed_coach_days(tenant: Tenant, coaches: Sequence[User], today: date) -> None:
    """The twice-yearly coach days: one held (with attendance and its record), one to come."""
    if db.session.scalar(select(CoachDay.id).limit(1)) is not None:
        return
    rng = random.Random(f"{tenant.slug}/coach-days")  # noqa: S311 - demo data, not security
    held_on = workday(today - timedelta(days=130))
    coming_on = workday(today + timedelta(days=50), later=True)
    place = f"Provinciehuis {CITIES.get(tenant.slug, '')}".strip()
    held = CoachDay(
        title=f"Leercoachdag {SEASONS[held_on.month].lower()} {held_on.year}",
        held_on=held_on,
        location=f"{place}, Statenzaal",
        programme=texts.COACH_DAY_PROGRAMME,
        record=texts.COACH_DAY_RECORD,
    )
    coming = CoachDay(
        title=f"Leercoachdag {SEASONS[coming_on.month].lower()} {coming_on.year}",
        held_on=coming_on,
        location="Landgoed De Hoge Veluwe, zaal Het Atrium"
        if tenant.slug == "gelderland"
        else "Natuurcentrum Oostvaardersplassen",
        programme=texts.UPCOMING_COACH_DAY_PROGRAMME,
    )
    db.session.add_all([held, coming])
    db.session.flush()
    absent = set(rng.sample(range(len(coaches)), 2))
    for index, coach in enumerate(coaches):
        db.session.add(
            CoachDayAttendance(coach_day_id=held.id, coach_id=coach.id, present=index not in absent)
        )
    db.session.flush()
