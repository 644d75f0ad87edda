"""Shared by the export tests: a programme with goals, ratings and free text; reading files back."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from dataclasses import dataclass

from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from tests.factories import World, get, in_tenant

#: Planted in every free-text field the programme admin may not read.
MARKER = "GEHEIM-7f3a"


@dataclass(frozen=True)
class Planted:
    goal_ids: list[uuid.UUID]
    goal_titles: list[str]


def plant_programme(
    app: Flask,
    world: World,
    *,
    goal_titles: tuple[str, ...] = ("Beter presenteren", "Feedback geven"),
    learner_rating: int = 4,
    manager_rating: int = 2,
) -> Planted:
    """Learning goals linked to organisation goals, attainment ratings by learner and manager,
    and MARKER in every free-text field of every step: progress notes, intake, evaluation notes,
    application plan, tips; a skip reason, a coach change reason, the appointment's place and
    link, the group meeting's outcome and place."""
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.definition import FieldType
    from samenleren.trajectories.goals import GoalInput, set_learning_goals
    from samenleren.trajectories.models import (
        CoachAssignment,
        FieldValue,
        GroupMeeting,
        StepInstance,
        StepState,
        Trajectory,
    )

    with in_tenant(app, world.tenant):
        trajectory = get(Trajectory, world.trajectory)
        learner = get(User, world.learner)
        set_learning_goals(
            trajectory,
            learner,
            [
                GoalInput(
                    title,
                    description=f"Uitleg bij {title}",
                    organisation_goal_ids=[str(world.organisation_goals[number % 2])],
                )
                for number, title in enumerate(goal_titles)
            ],
        )
        db.session.flush()
        goal_ids = [goal.id for goal in trajectory.goals]
        definition = trajectory.template_version.content
        steps = db.session.scalars(
            select(StepInstance).where(StepInstance.trajectory_id == trajectory.id)
        ).all()
        for step in steps:
            spec = definition.step(step.step_key)
            for field in spec.fields:
                value: object
                if field.type in (FieldType.TEXT, FieldType.LONG_TEXT):
                    value = (
                        {str(g): f"{MARKER} {field.key}" for g in goal_ids}
                        if field.per_goal
                        else f"{MARKER} {field.key}"
                    )
                elif field.key == "attainment_learner":
                    value = {str(g): learner_rating for g in goal_ids}
                elif field.key == "attainment_manager":
                    value = {str(g): manager_rating for g in goal_ids}
                else:
                    continue
                db.session.add(
                    FieldValue(step_instance_id=step.id, field_key=field.key, value=value)
                )
            step.location = f"{MARKER} locatie"
            step.video_url = f"https://video.example/{MARKER}"
        intake = next(step for step in steps if step.step_key == "intake")
        intake.state = StepState.SKIPPED
        intake.skip_reason = f"{MARKER} reden"
        intake.completed_at = utcnow()
        for assignment in db.session.scalars(select(CoachAssignment)):
            assignment.reason = f"{MARKER} wissel"
        for meeting in db.session.scalars(select(GroupMeeting)):
            meeting.outcome = f"{MARKER} uitkomst"
            meeting.location = f"{MARKER} zaal"
        db.session.commit()
        return Planted(goal_ids, list(goal_titles))


def csv_tables(filename: str, content: bytes) -> dict[str, list[list[str]]]:
    """{dataset: rows (header first)} of a CSV export: one .csv or a .zip of them."""
    files: dict[str, bytes] = {}
    if filename.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
    else:
        files = {filename: content}
    tables = {}
    for name, data in files.items():
        assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte order mark"
        text = data.decode("utf-8-sig")
        dataset = name.rsplit("-", 1)[1].removesuffix(".csv")
        tables[dataset] = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    return tables


def xlsx_workbook(content: bytes):
    return load_workbook(io.BytesIO(content))


def every_text(filename: str, content: bytes) -> str:
    """All cell texts of an export file, whatever its format (for "is X anywhere in it")."""
    if filename.endswith(".xlsx"):
        workbook = xlsx_workbook(content)
        return "\n".join(
            str(cell.value)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows()
            for cell in row
            if cell.value is not None
        )
    return "\n".join(
        ";".join(row) for rows in csv_tables(filename, content).values() for row in rows
    )
