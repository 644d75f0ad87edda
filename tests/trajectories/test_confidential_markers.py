"""A confidential step stays between the learner and the trajectory's current coach, on every
page and in every export, for every role.

A unique marker is planted in every free-text column of the confidential steps of a trajectory
(the columns are read from the model, so a new column is planted too) and in every value
recorded in them (every text field of the template). Then every GET route of the URL map is
opened as the learner, the current coach, the former coach, the manager, the trainer, the
programme admin, a colleague and the platform operator, with every step of the trajectory in
the URLs that take one; exports of every dataset in every format are downloaded. A marker may
only appear for the learner and the current coach. A new page, dataset or column is walked
without anyone listing it here; a new table that keeps data of a step fails
`test_every_table_about_a_step_is_planted` until it is planted too.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Enum, String, Text, select

from tests.conftest import operator_login
from tests.factories import World, build_world, get, in_tenant
from tests.test_isolation import OBJECT_FACTORIES, object_arguments, url
from tests.trajectories.test_pages import client_for

#: Columns of a step instance that are no free text: the template's key of the step.
STRUCTURAL = {"step_key"}
#: Tables whose rows hold something of one step, each planted below.
PLANTED_TABLES = {"field_values", "result_ratings"}
#: GET routes that are no page about the programme: they start or end a login.
NOT_PAGES = {
    "identity.login",
    "identity.callback",
    "identity.logout",
    "operator.login",
    "operator.callback",
}
#: Visitors and whether they may read the confidential step (the current coach is `other_coach`).
VISITORS = {
    "learner": True,
    "other_coach": True,
    "coach": False,  # the former coach
    "manager": False,
    "trainer": False,
    "admin": False,
    "colleague": False,
}


def marker(name: str) -> str:
    return f"zqmark-{name.replace('_', '-')}-71"


def _text_columns(model) -> list[str]:
    return [
        column.key
        for column in model.__table__.columns
        if isinstance(column.type, String | Text)
        and not isinstance(column.type, Enum)
        and column.key not in STRUCTURAL
    ]


def _plant(world: World) -> tuple[list, set[str]]:
    """Markers in the confidential steps of the world's trajectory (a skipped one and a
    scheduled one); returns their ids and every marker planted."""
    from samenleren.core.extensions import db
    from samenleren.process_templates.definition import FieldType
    from samenleren.trajectories.models import (
        ExpectedResult,
        FieldValue,
        LearningGoal,
        ResultLevel,
        ResultRating,
        StepInstance,
        StepState,
        Trajectory,
    )

    trajectory = get(Trajectory, world.trajectory)
    definition = trajectory.template_version.content
    goal = LearningGoal(trajectory_id=trajectory.id, title="Een leerdoel")
    db.session.add(goal)
    db.session.flush()
    goal_id = str(goal.id)  # per-goal values are keyed by learning goal
    first = db.session.scalar(select(StepInstance).where(StepInstance.id == world.step))
    assert definition.step(first.step_key).confidential
    second = StepInstance(
        trajectory_id=trajectory.id,
        step_key=first.step_key,
        position=first.position,
        occurrence=first.occurrence + 1,
        due_on=first.due_on + timedelta(days=30),
    )
    db.session.add(second)
    db.session.flush()
    steps = [
        s
        for s in db.session.scalars(
            select(StepInstance).where(StepInstance.trajectory_id == trajectory.id)
        )
        if definition.step(s.step_key).confidential
    ]
    planted = set()
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=12)
    for step in steps:
        for column in _text_columns(StepInstance):
            text = marker(f"step-{column}")
            if column == "video_url":
                text = f"https://{text}.example.nl/call"
            setattr(step, column, text)
            planted.add(marker(f"step-{column}"))
        step.starts_at, step.ends_at = starts, starts + timedelta(hours=1)
        for spec in definition.step(step.step_key).fields:
            if spec.type not in {FieldType.TEXT, FieldType.LONG_TEXT}:
                continue
            text = marker(f"value-{spec.key}")
            planted.add(text)
            db.session.add(
                FieldValue(
                    step_instance_id=step.id,
                    field_key=spec.key,
                    value={goal_id: text} if spec.per_goal else text,
                )
            )
    # A rating kept against a confidential step (the template may ask for one there): its
    # example is the rater's own words, readable in that step only.
    result = ExpectedResult(
        trajectory_id=trajectory.id, learning_goal_id=goal.id, observable="Zichtbaar op het werk"
    )
    db.session.add(result)
    db.session.flush()
    for n, step in enumerate(steps):
        for column in _text_columns(ResultRating):
            if column in {"moment", "rater_role"}:
                continue
            planted.add(marker(f"rating-{column}"))
        db.session.add(
            ResultRating(
                expected_result_id=result.id,
                step_instance_id=step.id,
                moment=f"confidential_{n}",
                rater_role="learner",
                level=ResultLevel.APPLIED,
                example=marker("rating-example"),
            )
        )
    first.state = StepState.SKIPPED
    second.state = StepState.SCHEDULED
    db.session.commit()
    return [step.id for step in steps], planted


def _change_coach(world: World) -> None:
    from samenleren.coaching.assignment import assign_coach
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.models import Trajectory

    trajectory = get(Trajectory, world.trajectory)
    assign_coach(
        trajectory, get(User, world.other_coach), get(User, world.admin), "Een andere klik"
    )
    db.session.commit()


def _exports(world: World) -> list:
    """Exports of every dataset, in every format, made by the programme admin."""
    from samenleren.core.extensions import db
    from samenleren.exports import services
    from samenleren.exports.models import PROGRAMME_FORMATS, Dataset
    from samenleren.identity.models import User

    ids = []
    for export_format in PROGRAMME_FORMATS:
        export = services.new_export(
            get(User, world.admin), str(export_format), [str(d) for d in Dataset], "nl"
        )
        ids.append(export.id)
        db.session.commit()
        services.build_export(export.id)
    return ids


def _personal_packages(world: World) -> tuple[list, list]:
    """The learner's own data package, and the one the programme admin produced of them."""
    from samenleren.core.extensions import db
    from samenleren.exports.services import build_export
    from samenleren.identity.models import User
    from samenleren.privacy.requests import request_for_person, request_my_data

    mine = request_my_data(get(User, world.learner), "nl")
    produced = request_for_person(get(User, world.admin), get(User, world.learner), "Verzoek", "nl")
    db.session.commit()
    build_export(mine.id)
    build_export(produced.id)
    return [mine.id], [produced.id]


def _feed_token(user_id) -> str:
    from samenleren.calendars.feeds import create_feed
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    issued = create_feed(get(User, user_id))
    db.session.commit()
    return issued.token


def _text(answer) -> str:
    """What a response says, with the members of a zip (an Excel file, a CSV bundle) unpacked."""
    data = answer.get_data()
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(_text_of(archive.read(name)) for name in archive.namelist())
    return _text_of(data)


def _text_of(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    # Excel keeps strings in XML; a marker with entities would still be plain text.
    return re.sub(r"&#x?[0-9a-fA-F]+;", "", text)


def _walk(app, client, values: dict[str, list[object]], skip: set[str]) -> str:
    seen = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in NOT_PAGES or rule.endpoint in skip:
            continue
        arguments = object_arguments(rule)
        if any(name not in values for name in arguments):
            continue
        combos: list[dict[str, object]] = [{}]
        for name in arguments:
            combos = [{**combo, name: value} for combo in combos for value in values[name]]
        for combo in combos:
            path = url(rule, "flevoland", combo)
            answer = client.get(path)
            assert answer.status_code < 500, (path, answer.status_code)
            seen.append(_text(answer))
    return "\n".join(seen)


@pytest.fixture
def planted(app, tenants):
    tenant = tenants["flevoland"]
    with in_tenant(app, tenant):
        world = build_world(tenant)
        objects = {name: [factory(world)] for name, factory in OBJECT_FACTORIES.items()}
    with in_tenant(app, tenant):
        step_ids, markers = _plant(world)
    with in_tenant(app, tenant):
        _change_coach(world)
        objects["export_id"] = _exports(world)
        # Personal data packages made after the planting: the learner's own holds the markers
        # (theirs alone to download), the one the admin produced must not.
        objects["my_package_id"], objects["package_id"] = _personal_packages(world)
    objects["step_id"] = step_ids
    objects["scheduled_step_id"] = step_ids
    return world, objects, markers


@pytest.mark.parametrize("person", list(VISITORS))
def test_only_learner_and_current_coach_see_a_confidential_step(app, planted, person):
    world, objects, markers = planted
    with in_tenant(app, world.tenant):
        feed = _feed_token(getattr(world, person))
    client = client_for(app, world, person)
    seen = _walk(app, client, {**objects, "feed_token": [feed]}, skip=set())
    leaked = sorted(m for m in markers if m in seen)
    if VISITORS[person]:
        # What the pages do show of the step: all of it (so the check below can fail).
        expected = {
            marker("step-location"),
            marker("step-video_url"),
            marker("step-skip_reason"),
            *(m for m in markers if m.startswith("zqmark-value-")),
        }
        assert expected <= set(leaked), f"{person} misses {sorted(expected - set(leaked))}"
    else:
        assert leaked == [], f"{person} sees {leaked}"


def test_the_operator_sees_no_confidential_step(app, planted, operator_idp):
    _world, objects, markers = planted
    client = app.test_client()
    assert operator_login(client, operator_idp, name="Olga Operator").status_code == 302
    # The console, and the tenant's pages with the operator's cookie (no tenant login). Not the
    # learner's feed: its secret link is the learner's own key.
    values = {name: value for name, value in objects.items() if name != "feed_token"}
    seen = _walk(app, client, {**values, "slug": ["flevoland"]}, skip=set())
    assert not any(m in seen for m in markers), sorted(m for m in markers if m in seen)


def test_every_table_about_a_step_is_planted(app):
    """A table that refers to step instances keeps data of a step: it must be planted above
    (and read through `samenleren.trajectories.confidentiality`)."""
    from samenleren.core.extensions import db

    with app.app_context():
        about_steps = {
            table.name
            for table in db.metadata.tables.values()
            if any(
                fk.column.table.name == "step_instances"
                for constraint in table.foreign_key_constraints
                for fk in constraint.elements
            )
        }
    assert about_steps == PLANTED_TABLES
