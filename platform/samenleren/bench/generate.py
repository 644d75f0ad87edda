"""Benchmark data sets through PostgreSQL COPY: `seed` (Flevoland's size) and `national`.

The tenants are onboarded through the ordinary service (`tenants.services.onboard_tenant`, from
the shipped Flevoland manifest with another slug and name), so each is a real tenant with its
organisation goals and the Flevoland model as its first process template, and the app can log
into it. Everything else - departments, people and their roles, coaches, trainings, editions,
enrolments, trajectories on three published template versions, their steps, group meetings,
learning goals linked to organisation goals, expected results with the learner's and manager's
ratings (what the programme report measures), coach assignments, notifications, audit events
and coach days - is written with
COPY as the owner role that runs the migrations (MIGRATIONS_DATABASE_URL), tenant by tenant.

Row-level security is FORCEd on every tenant table, and PostgreSQL refuses COPY FROM into a
table whose policy applies to the writer. The owner therefore lifts FORCE for the tables it
fills and puts it back *in the same transaction*: DDL is transactional and ALTER TABLE holds an
exclusive lock until the commit, so no other session ever sees a table without FORCE, and a
failed COPY leaves nothing behind but the onboarded tenants. The runtime role is never involved.

The same scale, seed value and reference date give the same rows: every id, name, date and
state below comes from a `random.Random` seeded with (seed, tenant slug), and ids are drawn from
it too. Only the rows onboarding writes (the tenant itself, its goals and first template) carry
the service's own random ids.
"""

from __future__ import annotations

import json
import math
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import psycopg
from flask import current_app
from psycopg import sql

from samenleren.core.extensions import db
from samenleren.core.tenant import get_tenant_by_slug
from samenleren.process_templates.definition import FieldType, StepKind, TemplateDefinition
from samenleren.tenants.manifest import LoadedManifest, load_manifest
from samenleren.tenants.services import onboard_tenant

# --- the scales ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TenantPlan:
    slug: str
    name: str
    employees: int


@dataclass(frozen=True)
class Scale:
    name: str
    tenants: tuple[TenantPlan, ...]
    #: Trajectories per employee over the four years of data.
    trajectories_per_employee: float


def _national_sizes(count: int, total: int, largest: int) -> list[int]:
    """`count` organisation sizes, Zipf-like: the largest `largest`, summing to `total`.

    The exponent is found by bisection so that `largest * sum(i ** -a)` equals the total; sizes
    below 40 (the smallest water board that runs a programme) are raised to 40.
    """
    low, high = 0.1, 3.0
    for _ in range(60):
        a = (low + high) / 2
        if largest * sum(i**-a for i in range(1, count + 1)) > total:
            low = a
        else:
            high = a
    sizes = [max(40, round(largest * i**-a)) for i in range(1, count + 1)]
    sizes[-1] += total - sum(sizes)  # the rounding remainder (a few employees) to the smallest
    return sizes


def scale_named(name: str) -> Scale:
    """`seed`: Flevoland (13 coaches, 160 learners); `national`: 400 tenants, 200,000 people;
    `tiny`: two small tenants, for the tests of this module."""
    if name == "seed":
        return Scale("seed", (TenantPlan("flevoland", "Provincie Flevoland", 192),), 1.0)
    if name == "national":
        sizes = _national_sizes(400, 200_000, 15_000)
        plans = tuple(
            TenantPlan(f"nl-{i:03d}", f"Organisatie {i:03d}", size)
            for i, size in enumerate(sizes, start=1)
        )
        return Scale("national", plans, 2.0)
    if name == "tiny":
        return Scale(
            "tiny",
            (TenantPlan("bench-a", "Bench A", 60), TenantPlan("bench-b", "Bench B", 30)),
            2.0,
        )
    raise ValueError(f"unknown scale {name!r}: seed, national or tiny")


# --- words --------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Anna Bram Carlijn Daan Eva Femke Gijs Hanna Ilse Jeroen Kim Lotte Maarten Noor Olaf Pien "
    "Quinten Roos Sander Tessa Ugo Vera Willem Xandra Yara Zeger Aylin Bilal Chantal Dewi Emre "
    "Fatima Gerrit Hatice Ingrid Joost Karin Luuk Mohamed Nadia Oscar Priya Rik Sanne Thijs Wendy"
).split()
SURNAMES = (
    "de Vries|Jansen|van den Berg|Bakker|Visser|Smit|Meijer|de Boer|Mulder|de Groot|Bos|Vos|"
    "Peters|Hendriks|van Leeuwen|Dekker|Brouwer|de Wit|Dijkstra|Smits|de Graaf|van der Meer|"
    "van der Linden|Kok|Jacobs|de Haan|Vermeulen|van den Heuvel|van der Veen|van den Broek|"
    "de Bruijn|de Bruin|van der Heijden|Schouten|van Beek|Willems|van Vliet|van de Ven|Hoekstra|"
    "Maas|Verhoeven|Koster|van Dam|Prins|Blom|Huisman|Peeters|de Jong|Yilmaz|El Amrani"
).split("|")
DEPARTMENTS = (
    "Ruimte en Wonen",
    "Economie",
    "Mobiliteit",
    "Natuur en Water",
    "Bedrijfsvoering",
    "Informatievoorziening",
    "Financiën",
    "Juridische Zaken",
    "Communicatie",
    "Sociaal Domein",
    "Vergunningverlening",
    "Bestuursondersteuning",
)
TRAININGS = (
    "Effectief communiceren",
    "Projectmatig werken",
    "Omgevingswet in de praktijk",
    "Adviesvaardigheden",
    "Leidinggeven aan professionals",
    "Data-gedreven werken",
    "Schrijven voor de burger",
    "Integriteit en ambtelijk vakmanschap",
    "Onderhandelen",
    "Timemanagement",
    "Veranderkundig werken",
    "Financieel inzicht",
)
PLACES = ("Provinciehuis, zaal 2.14", "Stadskantoor, vergaderzaal A", "Online", "Gemeentehuis")
GOALS = (
    "Ik geef helder en tijdig feedback aan collega's",
    "Ik plan mijn projecten met mijlpalen en bewaak ze",
    "Ik schrijf adviezen die bestuurders in één keer begrijpen",
    "Ik betrek inwoners vroeg bij plannen in mijn gebied",
    "Ik voer lastige gesprekken zonder ze uit te stellen",
    "Ik gebruik cijfers om mijn advies te onderbouwen",
)


# --- ids, times ---------------------------------------------------------------------------------


class Draw:
    """The random source of one tenant: ids, choices, dates."""

    def __init__(self, seed: int, slug: str) -> None:
        # Not for secrets: benchmark data, the same for the same seed.
        self.rng = random.Random(f"samenleren-bench:{seed}:{slug}")  # noqa: S311

    def id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def person(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(SURNAMES)}"


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, dtime(hour, 0), tzinfo=UTC)


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return date(year, month, min(day.day, days))


# --- the rows of one tenant ---------------------------------------------------------------------

#: Table name -> its columns, in the order `Rows` collects them (also the order of COPY: parents
#: first, so that every composite foreign key finds its target).
COLUMNS: dict[str, Sequence[str]] = {
    "departments": ("tenant_id", "id", "name"),
    "users": (
        "tenant_id id subject name email department_id manager_id active created_at "
        "last_login_at issuer notification_mode scim_attributes"
    ).split(),
    "role_assignments": "tenant_id id user_id role source created_at".split(),
    "coach_profiles": (
        "tenant_id id user_id capacity trained_on active introduction created_at".split()
    ),
    "template_versions": (
        "tenant_id id template_id number status definition origin created_at published_at".split()
    ),
    "trainings": (
        "tenant_id id title description provider open_to_all capacity created_at active".split()
    ),
    "editions": (
        "tenant_id id training_id name starts_on ends_on location trainer_id capacity cancelled "
        "created_at"
    ).split(),
    "group_meetings": (
        "tenant_id id edition_id step_key name due_on state starts_at ends_at location video_url "
        "outcome held_at"
    ).split(),
    "enrolments": (
        "tenant_id id edition_id learner_id status motivation reason applied_at enrolled_at "
        "changed_at"
    ).split(),
    "trajectories": (
        "tenant_id id learner_id coach_id edition_id enrolment_id template_version_id status "
        "created_at completed_at"
    ).split(),
    "coach_assignments": (
        "tenant_id id trajectory_id coach_id assigned_by_id reason assigned_at".split()
    ),
    "step_instances": (
        "tenant_id id trajectory_id step_key position occurrence due_on state starts_at ends_at "
        "location video_url skip_reason group_meeting_id completed_at completed_by_id"
    ).split(),
    "learning_goals": ("tenant_id id trajectory_id title description position created_at".split()),
    "learning_goal_links": "tenant_id id learning_goal_id organisation_goal_id".split(),
    "expected_results": (
        "tenant_id id trajectory_id learning_goal_id position observable contribution "
        "created_by_id created_at"
    ).split(),
    "result_ratings": (
        "tenant_id id expected_result_id step_instance_id moment rater_role rater_id level "
        "example contribution_done rated_at"
    ).split(),
    "notifications": (
        "tenant_id id recipient_id kind key due_at state digest attempts last_error sent_at "
        "context attachments message_id created_at"
    ).split(),
    "audit_events": (
        "tenant_id id occurred_at action actor_id actor_label subject_type subject_id details "
        "ip_address"
    ).split(),
    "coach_days": ("tenant_id id title held_on location programme record created_at".split()),
    "coach_day_attendances": "tenant_id id coach_day_id coach_id present".split(),
}


@dataclass
class TenantBase:
    """What onboarding gave the tenant and the generator builds on."""

    id: uuid.UUID
    slug: str
    issuer: str
    template_id: uuid.UUID
    first_version_id: uuid.UUID
    definition: dict[str, Any]
    #: The organisation goals onboarding gave it (from the manifest): learning goals link here.
    organisation_goals: list[uuid.UUID] = field(default_factory=list)


@dataclass
class Rows:
    tables: dict[str, list[tuple]] = field(default_factory=lambda: {t: [] for t in COLUMNS})

    def add(self, table: str, *values: object) -> None:
        self.tables[table].append(values)

    def count(self) -> int:
        return sum(len(rows) for rows in self.tables.values())


def tenant_rows(base: TenantBase, plan: TenantPlan, scale: Scale, seed: int, today: date) -> Rows:
    """Every generated row of one tenant."""
    draw = Draw(seed, plan.slug)
    # Learning-goal links, expected results and their ratings draw from a stream of their own:
    # the rest of the data set stays what it was before they were generated.
    results = _Results(Draw(seed, f"{plan.slug}/results"), base.organisation_goals)
    rng = draw.rng
    rows = Rows()
    tid = base.id
    n = plan.employees
    start = add_months(today, -48)  # four years of programme
    created = at(start - timedelta(days=30), 9)

    # Departments and people. Index 0.. are the programme administrators, then trainers,
    # managers, coaches; every employee may learn (the manifest's default role).
    departments = [draw.id() for _ in range(max(2, min(len(DEPARTMENTS), n // 150 + 2)))]
    for number, dep in enumerate(departments):
        rows.add("departments", tid, dep, DEPARTMENTS[number % len(DEPARTMENTS)])
    admins = max(2, n // 2500)
    trainers = max(2, n // 600)
    managers = max(3, n // 12)
    coaches = max(3, round(n * 0.068))
    people = [draw.id() for _ in range(n)]
    names = [draw.person() for _ in range(n)]
    roles: dict[int, str] = {}
    cursor = 0
    for kind, count in (
        ("programme_admin", admins),
        ("trainer", trainers),
        ("manager", managers),
        ("coach", coaches),
    ):
        for index in range(cursor, cursor + count):
            roles[index] = kind
        cursor += count
    manager_ix = [i for i, r in roles.items() if r == "manager"]
    coach_ix = [i for i, r in roles.items() if r == "coach"]
    trainer_ix = [i for i, r in roles.items() if r == "trainer"]
    admin_ix = [i for i, r in roles.items() if r == "programme_admin"]
    # A user's manager may come later in the same COPY: foreign keys are checked at its end.
    manager_of: dict[int, uuid.UUID | None] = {}
    for index in range(n):
        role = roles.get(index)
        dep = departments[index % len(departments)]
        manager = None if role in ("manager", "programme_admin") else people[rng.choice(manager_ix)]
        manager_of[index] = manager
        rows.add(
            "users",
            tid,
            people[index],
            f"{plan.slug}-u{index:05d}",
            names[index],
            f"u{index:05d}@{plan.slug}.example.nl",
            dep,
            manager,
            True,
            created,
            at(today - timedelta(days=rng.randrange(1, 60)), 8) if rng.random() < 0.7 else None,
            base.issuer,
            "digest" if rng.random() < 0.1 else "immediate",
            "{}",
        )
        rows.add("role_assignments", tid, draw.id(), people[index], "learner", "idp", created)
        if role is not None:
            rows.add("role_assignments", tid, draw.id(), people[index], role, "app", created)
    for index in coach_ix:
        rows.add(
            "coach_profiles",
            tid,
            draw.id(),
            people[index],
            rng.choice((2, 3, 3, 4)),
            start + timedelta(days=rng.randrange(0, 700)),
            rng.random() < 0.9,
            "Ik help je graag om je leerdoelen concreet te maken.",
            created,
        )

    # Three published versions of the Flevoland model: trajectories keep the one they began on.
    versions = [base.first_version_id, draw.id(), draw.id()]
    for number, version in enumerate(versions[1:], start=2):
        published = at(add_months(start, 14 * (number - 1)), 11)
        rows.add(
            "template_versions",
            tid,
            version,
            base.template_id,
            number,
            "published",
            json.dumps(base.definition),
            f"version {number - 1}",
            published,
            published,
        )
    version_switches = (add_months(start, 14), add_months(start, 28))
    steps = TemplateDefinition.model_validate(base.definition).steps

    # Trainings and their editions over four years, a group of about twelve each.
    trainings = [draw.id() for _ in range(max(3, min(len(TRAININGS), n // 300 + 3)))]
    for number, training in enumerate(trainings):
        rows.add(
            "trainings",
            tid,
            training,
            TRAININGS[number],
            "Een training van het opleidingsaanbod.",
            "Eigen academie",
            True,
            None,
            created,
            True,
        )
    total = max(1, round(n * scale.trajectories_per_employee))
    learners = [i for i in range(n) if roles.get(i) != "programme_admin"]
    group = min(12, len(learners))
    span = (add_months(start, 51) - start).days  # the last editions start three months ahead
    remaining = total
    meetings_by_edition: dict[uuid.UUID, dict[str, uuid.UUID]] = {}
    # Editions start at a random day of equal slices of the span (not anywhere in it): even a
    # small tenant then has editions running today, with steps done and steps to come.
    editions = -(-total // group)
    for number in range(editions):
        size = min(group, remaining)
        remaining -= size
        edition = draw.id()
        training_number = rng.randrange(len(trainings))
        starts = start + timedelta(days=int((number + rng.random()) * span / editions))
        ends = starts + timedelta(days=rng.choice((28, 42, 56, 84)))
        rows.add(
            "editions",
            tid,
            edition,
            trainings[training_number],
            f"{TRAININGS[training_number]} · {starts.isoformat()}",
            starts,
            ends,
            rng.choice(PLACES),
            people[rng.choice(trainer_ix)],
            16,
            False,
            at(starts - timedelta(days=60)),
        )
        enrolled_on = starts - timedelta(days=30)
        finished = ends + timedelta(days=100) < today
        version = versions[sum(starts >= switch for switch in version_switches)]
        dates = _due_dates(steps, enrolled_on, starts, ends)
        meetings: dict[str, uuid.UUID] = {}
        for step in steps:
            if step.kind is not StepKind.GROUP_MEETING:
                continue
            meeting = meetings[step.key] = draw.id()
            due = dates[step.key]
            state = _state(due, today)
            rows.add(
                "group_meetings",
                tid,
                meeting,
                edition,
                step.key,
                json.dumps(step.name),
                due,
                state,
                at(due, 13) if state != "planned" else None,
                at(due, 16) if state != "planned" else None,
                rng.choice(PLACES) if state != "planned" else "",
                "",
                "Goed gesprek over wat iedereen heeft toegepast." if state == "done" else "",
                at(due, 16) if state == "done" else None,
            )
        meetings_by_edition[edition] = meetings
        for learner in rng.sample(learners, size):
            coach = rng.choice(coach_ix)
            if coach == learner:
                coach = coach_ix[(coach_ix.index(coach) + 1) % len(coach_ix)]
            withdrawn = rng.random() < 0.04
            status = "withdrawn" if withdrawn else ("completed" if finished else "active")
            enrolment, trajectory = draw.id(), draw.id()
            rows.add(
                "enrolments",
                tid,
                enrolment,
                edition,
                people[learner],
                "withdrawn" if withdrawn else "enrolled",
                "Ik wil mij verder ontwikkelen in mijn vak.",
                "",
                at(enrolled_on - timedelta(days=14)),
                at(enrolled_on),
                at(enrolled_on),
            )
            rows.add(
                "trajectories",
                tid,
                trajectory,
                people[learner],
                people[coach],
                edition,
                enrolment,
                version,
                status,
                at(enrolled_on),
                at(ends + timedelta(days=95)) if status == "completed" else None,
            )
            rows.add(
                "coach_assignments",
                tid,
                draw.id(),
                trajectory,
                people[coach],
                people[admin_ix[0]],
                "",
                at(enrolled_on, 11),
            )
            rows.add(
                "audit_events",
                tid,
                draw.id(),
                at(enrolled_on, 11),
                "coach.assigned",
                people[admin_ix[0]],
                names[admin_ix[0]],
                "trajectory",
                str(trajectory),
                json.dumps({"coach": str(people[coach]), "coach_name": names[coach]}),
                "",
            )
            stopped = enrolled_on + timedelta(days=rng.randrange(10, 120)) if withdrawn else None
            _trajectory_steps(
                rows,
                draw,
                tid=tid,
                slug=plan.slug,
                trajectory=trajectory,
                steps=steps,
                dates=dates,
                meetings=meetings,
                today=today,
                stopped=stopped,
                learner=(people[learner], names[learner]),
                coach=(people[coach], names[coach]),
                results=results,
                manager=manager_of[learner],
            )

    # Coach days: four a year, the coaches who came.
    for quarter in range(16):
        held = add_months(start, 3 * quarter) + timedelta(days=20)
        if held > today + timedelta(days=60):
            break
        day = draw.id()
        past = held < today
        rows.add(
            "coach_days",
            tid,
            day,
            f"Coachdag {held.year}-{(held.month - 1) // 3 + 1}",
            held,
            rng.choice(PLACES),
            "Intervisie en oefenen met lastige gesprekken.",
            "Twaalf coaches oefenden met feedback." if past else "",
            at(held - timedelta(days=40)),
        )
        if past:
            for index in coach_ix:
                rows.add(
                    "coach_day_attendances", tid, draw.id(), day, people[index], rng.random() < 0.8
                )
    return rows


def _due_dates(steps: Sequence[Any], enrolled: date, starts: date, ends: date) -> dict[str, date]:
    anchors = {"enrolment": enrolled, "edition_start": starts, "edition_end": ends}
    dates: dict[str, date] = {}
    for step in steps:
        timing = step.timing
        base = dates.get(timing.step) if timing.step else anchors[str(timing.anchor.value)]
        day = add_months(base or ends, timing.offset_months) + timedelta(days=timing.offset_days)
        dates[step.key] = day
    return dates


def _state(due: date, today: date) -> str:
    if due < today - timedelta(days=3):
        return "done"
    if due < today + timedelta(days=21):
        return "scheduled"
    return "planned"


def _trajectory_steps(
    rows: Rows,
    draw: Draw,
    *,
    tid: uuid.UUID,
    slug: str,
    trajectory: uuid.UUID,
    steps: Sequence[Any],
    dates: dict[str, date],
    meetings: dict[str, uuid.UUID],
    today: date,
    stopped: date | None,
    learner: tuple[uuid.UUID, str],
    coach: tuple[uuid.UUID, str],
    results: _Results,
    manager: uuid.UUID | None,
) -> None:
    rng = draw.rng
    learning_goals: list[uuid.UUID] = []
    expected: list[uuid.UUID] = []
    for position, step in enumerate(steps):
        repeat = step.repeat
        occurrences = repeat.min + (
            rng.randrange(0, 2) if repeat.max > repeat.min else 0
        )  # the progress conversation: once or twice
        for occurrence in range(1, occurrences + 1):
            due = dates[step.key] + timedelta(days=repeat.interval_days * (occurrence - 1))
            state = _state(due, today)
            skip = ""
            if stopped is not None and due >= stopped:
                state, skip = "skipped", "Deelnemer is gestopt met het traject."
            step_id = draw.id()
            scheduled = state in ("scheduled", "done")
            rows.add(
                "step_instances",
                tid,
                step_id,
                trajectory,
                step.key,
                position,
                occurrence,
                due,
                state,
                at(due, 10) if scheduled else None,
                at(due, 11) if scheduled else None,
                rng.choice(PLACES) if scheduled else "",
                "",
                skip,
                meetings.get(step.key),
                at(due, 11) if state == "done" else None,
                coach[0] if state == "done" else None,
            )
            if step.key == "learning_goals" and state == "done":
                for goal in range(rng.choice((1, 2, 3))):
                    learning_goals.append(draw.id())
                    rows.add(
                        "learning_goals",
                        tid,
                        learning_goals[-1],
                        trajectory,
                        rng.choice(GOALS),
                        "Samen met mijn leercoach uitgewerkt.",
                        goal,
                        at(due, 11),
                    )
                    results.link(rows, tid, learning_goals[-1])
            if state == "done" and occurrence == 1:
                results.of_step(
                    rows,
                    tid,
                    step,
                    step_id,
                    at(due, 11),
                    trajectory=trajectory,
                    learning_goals=learning_goals,
                    expected=expected,
                    learner=learner[0],
                    manager=manager,
                )
            if state in ("done", "scheduled", "planned") and step.reminders:
                offset = step.reminders[0]
                due_at = at(due - timedelta(days=offset), 7)
                # The outbox keeps the last half year and what is due in the coming month.
                if not at(today - timedelta(days=180)) < due_at < at(today + timedelta(days=30)):
                    continue
                sent = due_at < at(today)
                for person, _name in (learner, coach):
                    rows.add(
                        "notifications",
                        tid,
                        draw.id(),
                        person,
                        "reminder",
                        f"reminder:{step_id}:{offset}:{person}",
                        due_at,
                        "sent" if sent else "pending",
                        False,
                        1 if sent else 0,
                        "",
                        due_at + timedelta(minutes=2) if sent else None,
                        json.dumps(
                            {
                                "path": f"/{slug}/trajectories/{trajectory}/steps/{step_id}",
                                "step": step.name,
                                "due_on": due.isoformat(),
                                "learner": learner[1],
                                "step_id": str(step_id),
                            }
                        ),
                        "[]",
                        f"<{step_id}.{offset}@bench.samenleren>" if sent else "",
                        due_at - timedelta(days=1),
                    )
            if state == "done" and step.kind is StepKind.CONVERSATION:
                rows.add(
                    "audit_events",
                    tid,
                    draw.id(),
                    at(due, 11),
                    "step.completed",
                    coach[0],
                    coach[1],
                    "step",
                    str(step_id),
                    json.dumps({"step": step.key, "occurrence": occurrence}),
                    "",
                )


class _Results:
    """What the programme report measures: each learning goal linked to an organisation goal,
    one or two expected results set at the intake (mostly by the manager), and the learner's
    and the manager's ratings of them at each moment a done step asks (evaluation, three and
    six months), about 60 % transfer, as the demo's history has."""

    LEVELS = ("not_yet", "partly", "applied", "exceeded")
    WEIGHTS = (1, 3, 5, 1)

    def __init__(self, draw: Draw, organisation_goals: list[uuid.UUID]) -> None:
        self.draw = draw
        self.rng = draw.rng
        self.organisation_goals = organisation_goals

    def link(self, rows: Rows, tid: uuid.UUID, learning_goal: uuid.UUID) -> None:
        if self.organisation_goals:
            goal = self.rng.choice(self.organisation_goals)
            rows.add("learning_goal_links", tid, self.draw.id(), learning_goal, goal)

    def of_step(
        self,
        rows: Rows,
        tid: uuid.UUID,
        step: Any,
        step_id: uuid.UUID,
        done_at: datetime,
        *,
        trajectory: uuid.UUID,
        learning_goals: list[uuid.UUID],
        expected: list[uuid.UUID],
        learner: uuid.UUID,
        manager: uuid.UUID | None,
    ) -> None:
        """The rows a done step writes: expected results where it sets them, ratings where it
        asks for them (the caller: once per step, its first occurrence)."""
        rng = self.rng
        for spec in step.fields:
            if spec.type is FieldType.EXPECTED_RESULTS and learning_goals and not expected:
                for position in range(rng.choice((1, 1, 2))):
                    expected.append(self.draw.id())
                    by_manager = manager is not None and rng.random() < 0.85
                    rows.add(
                        "expected_results",
                        tid,
                        expected[-1],
                        trajectory,
                        rng.choice(learning_goals),
                        position,
                        "Collega's merken dat ik dit in mijn werk toepas.",
                        "Ik plan er samen met mijn medewerker tijd voor in."
                        if rng.random() < 0.6
                        else "",
                        manager if by_manager else learner,
                        done_at,
                    )
            elif spec.type is FieldType.RESULT_RATING and spec.moment is not None:
                for result in expected:
                    for role, rater, chance in (
                        ("learner", learner, 0.9),
                        ("manager", manager, 0.75),
                    ):
                        if rater is None or rng.random() >= chance:
                            continue
                        level = rng.choices(self.LEVELS, self.WEIGHTS)[0]
                        rows.add(
                            "result_ratings",
                            tid,
                            self.draw.id(),
                            result,
                            step_id,
                            spec.moment.value,
                            role,
                            rater,
                            level,
                            "",
                            (rng.random() < 0.7) if role == "manager" else None,
                            done_at,
                        )


# --- writing ------------------------------------------------------------------------------------


def _owner_url() -> str:
    return str(current_app.config["MIGRATIONS_DATABASE_URL"]).replace(
        "postgresql+psycopg://", "postgresql://", 1
    )


def _onboard(plans: Iterable[TenantPlan], issuer: str | None) -> list[uuid.UUID]:
    """Onboard every planned tenant through the service; returns their ids in plan order."""
    manifest_path = Path(current_app.config["SAMENLEREN_TENANTS_DIR"]) / "flevoland.toml"
    model = load_manifest(manifest_path)
    ids = []
    for plan in plans:
        manifest = model.manifest.model_copy(update={"slug": plan.slug, "name": plan.name})
        if issuer is not None:
            manifest = manifest.model_copy(
                update={"sso": manifest.sso.model_copy(update={"issuer": issuer})}
            )
        if get_tenant_by_slug(plan.slug) is not None:
            raise GenerateError(
                f"tenant {plan.slug!r} exists already: generate into an empty database"
            )
        tenant = onboard_tenant(LoadedManifest(manifest, model.logo, model.logo_type)).tenant
        ids.append(tenant.id)
    return ids


class GenerateError(Exception):
    """The data set cannot be generated here; the message says why."""


@dataclass
class Report:
    tenants: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, rows: Rows) -> None:
        self.tenants += 1
        for table, values in rows.tables.items():
            self.rows[table] = self.rows.get(table, 0) + len(values)


def generate(
    scale: Scale,
    *,
    seed: int = 1,
    today: date | None = None,
    issuer: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Report:
    """Onboard the scale's tenants and COPY their data in; one transaction for the COPY."""
    began = time.monotonic()
    today = today or date.today()
    progress(f"onboarding {len(scale.tenants)} tenants")
    tenant_ids = _onboard(scale.tenants, issuer)
    db.session.commit()
    report = Report()
    with psycopg.connect(_owner_url()) as connection:
        tables = list(COLUMNS)
        for table in tables:
            connection.execute(
                sql.SQL("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY").format(sql.Identifier(table))
            )
        bases = _bases(connection, tenant_ids)
        for number, plan in enumerate(scale.tenants, start=1):
            rows = tenant_rows(bases[tenant_ids[number - 1]], plan, scale, seed, today)
            for table, values in rows.tables.items():
                if not values:
                    continue
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, COLUMNS[table]))
                )
                with connection.cursor().copy(statement) as copy:
                    for value in values:
                        copy.write_row(value)
            report.add(rows)
            if number % 20 == 0 or number == len(scale.tenants):
                progress(
                    f"{number}/{len(scale.tenants)} tenants, "
                    f"{sum(report.rows.values()):,} rows, {time.monotonic() - began:.0f} s"
                )
        for table in tables:
            connection.execute(
                sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(sql.Identifier(table))
            )
        connection.commit()
        # VACUUM as well as ANALYZE: a database in use has its visibility map set by autovacuum
        # (index-only scans then skip the table), which a fresh COPY lacks for a while, and
        # where autovacuum is off (as on some test machines) for good.
        progress("vacuum and analyze")
        connection.autocommit = True
        for table in tables:
            connection.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
    report.seconds = time.monotonic() - began
    return report


def _bases(
    connection: psycopg.Connection, tenant_ids: list[uuid.UUID]
) -> dict[uuid.UUID, TenantBase]:
    """The tenant rows and their first template version (read while FORCE is lifted)."""
    found = connection.execute(
        "SELECT t.id, t.slug, t.sso_issuer, v.template_id, v.id, v.definition "
        "FROM tenants t JOIN template_versions v ON v.tenant_id = t.id "
        "WHERE t.id = ANY(%s) AND v.number = 1",
        (tenant_ids,),
    ).fetchall()
    bases = {row[0]: TenantBase(row[0], row[1], row[2], row[3], row[4], row[5]) for row in found}
    # Organisation goals keep their FORCEd policy (nothing is written to them here): read them
    # tenant by tenant, as that tenant.
    for tenant_id, base in bases.items():
        connection.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
        base.organisation_goals = [
            goal_id
            for (goal_id,) in connection.execute(
                "SELECT id FROM organisation_goals ORDER BY position, code"
            )
        ]
    connection.execute("SELECT set_config('app.tenant_id', '', true)")
    missing = set(tenant_ids) - set(bases)
    if missing:
        raise GenerateError(f"{len(missing)} onboarded tenants have no first template")
    return bases


def describe_scale(scale: Scale) -> str:
    sizes = [plan.employees for plan in scale.tenants]
    return (
        f"{scale.name}: {len(sizes)} tenants, {sum(sizes):,} employees "
        f"(largest {max(sizes):,}, median {sorted(sizes)[len(sizes) // 2]:,}), "
        f"about {math.floor(sum(sizes) * scale.trajectories_per_employee):,} trajectories"
    )
