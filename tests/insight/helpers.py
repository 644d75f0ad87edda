"""A hand-made programme year for the insight tests, with figures computed by hand.

Year 2025 of one tenant. Training A (trainer Tessa, provider "Bureau A") ended 30 June on
template version 1; training B (trainer Bram, "Bureau B") ended 30 September on version 2, in
which the three-months rating sits in a step with another key ("terugblik"): a template that
changed mid-year. Every learner has one expected result; the ratings at three months:

    learner  training goal  learner says  manager says   transfer L / M   disagree
    a1       A        G1    applied       applied        yes / yes        no
    a2       A        G1    exceeded      partly         yes / no         yes
    a3       A        G1    partly        partly         no / no          no
    a4       A        G1    applied       -              yes / -          -
    a5       A        G1    not yet       applied        no / yes         yes
    a6       A        G1    -             -              (only rated at the evaluation)
    b1       B        G2    applied       applied        yes / yes        no
    b2       B        G2    applied       not yet        yes / no         yes
    b3       B        G2    partly        -              no / -           -
    aw       A        G1    applied       applied        withdrawn: counts only in the funnel

Whole tenant: by learners 5 of 8, by managers 3 of 6, disagreement 3 of 6.
Training A: by learners 3 of 5 (5 learners: shown); by managers 2 of 4 (4 learners: hidden).
Training B: 3 learners: every figure hidden. a1..a6 and aw have manager Mila; b1..b3 Mees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from tests.factories import add_user

RATINGS = {
    "a1": ("applied", "applied"),
    "a2": ("exceeded", "partly"),
    "a3": ("partly", "partly"),
    "a4": ("applied", None),
    "a5": ("not_yet", "applied"),
    "a6": (None, None),
    "b1": ("applied", "applied"),
    "b2": ("applied", "not_yet"),
    "b3": ("partly", None),
    "aw": ("applied", "applied"),
}


#: Who took part in the intake, where not everyone did (a5's closing recorded nobody: None).
#: Counted intakes with a record: 8 (not a5; aw withdrawn), the manager in 6 (not a3, b3).
PRESENT: dict[str, list[str] | None] = {
    "a3": ["coach", "learner"],
    "a5": None,
    "b3": ["coach", "learner"],
}
#: Evaluations held, and who took part: the manager in 1 of 2.
EVALUATED = {"a1": ["coach", "learner", "manager"], "a2": ["coach", "learner"]}


@dataclass
class Programme:
    ids: dict[str, object] = field(default_factory=dict)


def _second_version():
    """Version 2 of the default template: the return day's step key is now `terugblik`."""
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import TemplateVersion, VersionStatus
    from samenleren.process_templates.services import current_version

    first = current_version()
    definition = dict(first.definition)
    definition["steps"] = [
        {**step, "key": "terugblik"} if step["key"] == "return_day" else step
        for step in definition["steps"]
    ]
    second = TemplateVersion(
        template_id=first.template_id,
        number=first.number + 1,
        status=VersionStatus.PUBLISHED,
        definition=definition,
        published_at=utcnow(),
    )
    db.session.add(second)
    db.session.flush()
    return second


def build_programme(prefix: str = "", extra_a: int = 0) -> Programme:
    """The year above in the active tenant (committed). `extra_a` more learners in training A
    with ratings like a1 (for query counts at another size)."""
    from samenleren.catalogue.models import Edition, Enrolment, EnrolmentStatus, Training
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.identity.models import Department
    from samenleren.tenants.models import OrganisationGoal
    from samenleren.trajectories.lifecycle import withdraw_trajectory
    from samenleren.trajectories.models import (
        ExpectedResult,
        LearningGoal,
        LearningGoalLink,
        ResultLevel,
        ResultRating,
        StepInstance,
        StepState,
    )

    p = Programme()
    goals = list(db.session.scalars(select(OrganisationGoal).order_by(OrganisationGoal.position)))
    p.ids["G1"], p.ids["G2"] = goals[0].id, goals[1].id
    department = Department(name=f"Team {prefix}insight")
    db.session.add(department)
    db.session.flush()
    p.ids["department"] = department.id
    mila = add_user(f"{prefix}mila.manager", "manager")
    mees = add_user(f"{prefix}mees.manager", "manager")
    p.ids["mila"], p.ids["mees"] = mila.id, mees.id
    editions = {}
    for key, trainer_name, provider, ends in (
        ("A", "Tessa", "Bureau A", date(2025, 6, 30)),
        ("B", "Bram", "Bureau B", date(2025, 9, 30)),
    ):
        trainer = add_user(f"{prefix}{trainer_name.lower()}.trainer", "trainer", name=trainer_name)
        training = Training(title=f"Training {key}", provider=provider, capacity=30)
        db.session.add(training)
        db.session.flush()
        edition = Edition(
            training_id=training.id,
            name=f"Editie {key}",
            starts_on=date(ends.year, ends.month - 2, 1),
            ends_on=ends,
            trainer_id=trainer.id,
        )
        db.session.add(edition)
        db.session.flush()
        editions[key] = edition
        p.ids[f"training {key}"] = training.id
        p.ids[f"trainer {key}"] = trainer.id
        p.ids[f"edition {key}"] = edition.id
    ratings = dict(RATINGS)
    for n in range(extra_a):
        ratings[f"ax{n}"] = RATINGS["a1"]
    order = [k for k in ratings if k.startswith("a")] + [k for k in ratings if k.startswith("b")]
    from samenleren.trajectories.lifecycle import start_trajectory

    for name in order:
        if name == "b1":
            _second_version()
        is_a = name.startswith("a")
        learner = add_user(
            f"{prefix}{name}.learner",
            "learner",
            manager_id=(mila if is_a else mees).id,
            department_id=department.id if is_a else None,
        )
        enrolment = Enrolment(
            edition_id=editions["A" if is_a else "B"].id,
            learner_id=learner.id,
            status=EnrolmentStatus.ENROLLED,
            enrolled_at=utcnow(),
        )
        db.session.add(enrolment)
        db.session.flush()
        trajectory = start_trajectory(enrolment)
        p.ids[name] = trajectory.id
        goal = LearningGoal(trajectory_id=trajectory.id, title=f"Doel van {name}")
        db.session.add(goal)
        db.session.flush()
        db.session.add(
            LearningGoalLink(
                learning_goal_id=goal.id, organisation_goal_id=p.ids["G1" if is_a else "G2"]
            )
        )
        result = ExpectedResult(
            trajectory_id=trajectory.id,
            learning_goal_id=goal.id,
            observable=f"zqinsight-observable-{name}",
            contribution=f"zqinsight-contribution-{name}" if name in {"a1", "a2"} else "",
            created_by_id=(mila if is_a else mees).id if name != "a3" else None,
        )
        db.session.add(result)
        db.session.flush()
        steps = {
            s.step_key: s
            for s in db.session.scalars(
                select(StepInstance).where(StepInstance.trajectory_id == trajectory.id)
            )
        }
        steps["intake"].state = StepState.DONE
        # Who took part in the intake (PRESENT); a1 and a2 held their evaluation too.
        steps["intake"].present_roles = PRESENT.get(name, ["coach", "learner", "manager"])
        if name in EVALUATED:
            steps["evaluation"].state = StepState.DONE
            steps["evaluation"].present_roles = EVALUATED[name]
        three_months = steps.get("return_day") or steps["terugblik"]
        by_learner, by_manager = ratings[name]
        for role, level in (("learner", by_learner), ("manager", by_manager)):
            if level is None:
                continue
            db.session.add(
                ResultRating(
                    expected_result_id=result.id,
                    step_instance_id=three_months.id,
                    moment="three_months",
                    rater_role=role,
                    level=ResultLevel(level),
                    example=f"zqinsight-example-{name}-{role}",
                    contribution_done=True if role == "manager" and name == "a1" else None,
                )
            )
        if name == "a6":
            db.session.add(
                ResultRating(
                    expected_result_id=result.id,
                    step_instance_id=steps["evaluation"].id,
                    moment="evaluation",
                    rater_role="learner",
                    level=ResultLevel.APPLIED,
                )
            )
        db.session.flush()
        if name == "aw":
            withdraw_trajectory(trajectory)
    db.session.commit()
    return p
