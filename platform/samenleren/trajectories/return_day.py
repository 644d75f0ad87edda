"""Planning the return day: three months after an edition ends (in the Flevoland model) the
group meets again. A daily job (`trajectories.jobs.plan_return_days`) schedules each such
meeting on its due date; `return_day_planned` tells the effects, which invite the group and
the trainer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from samenleren.catalogue.models import Edition, Training
from samenleren.core import signals
from samenleren.core.extensions import db
from samenleren.core.formatting import LOCAL_ZONE, local_today
from samenleren.identity.models import User
from samenleren.trajectories.models import GroupMeeting, GroupMeetingState, StepInstance, StepState
from samenleren.trajectories.participants import meeting_people

#: The return day planned by `plan_return_days`: on its due date (a weekend: the Monday after),
#: from 09:30 to 12:30 Amsterdam time, at the edition's place (a trainer moves it on the
#: meeting page when the group agrees otherwise).
RETURN_DAY_STARTS = time(9, 30)
RETURN_DAY_HOURS = 3


def return_day_moment(day: date) -> tuple[datetime, datetime]:
    """09:30-12:30 Amsterdam time on `day` (a Saturday or Sunday: the Monday after), in UTC."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    starts = datetime.combine(day, RETURN_DAY_STARTS, tzinfo=LOCAL_ZONE).astimezone(UTC)
    return starts, starts + timedelta(hours=RETURN_DAY_HOURS)


def meetings_to_plan(today: date) -> list[GroupMeeting]:
    """Group meetings of ended editions, due after the edition's end (the return day, three
    months on in the Flevoland model), not yet scheduled, still ahead of us."""
    return list(
        db.session.scalars(
            select(GroupMeeting)
            .join(Edition, Edition.id == GroupMeeting.edition_id)
            .where(
                Edition.ends_on < today,
                Edition.cancelled.is_(False),
                GroupMeeting.state == GroupMeetingState.PLANNED,
                GroupMeeting.due_on > Edition.ends_on,
                GroupMeeting.due_on > today,
            )
            .options(
                joinedload(GroupMeeting.edition)
                .joinedload(Edition.training)
                .lazyload(Training.departments),
                joinedload(GroupMeeting.edition)
                .joinedload(Edition.trainer)
                .lazyload(User.role_assignments),
            )
            .order_by(GroupMeeting.due_on)
        ).unique()
    )


def plan_return_day(meeting: GroupMeeting) -> bool:
    """Schedule one such meeting on its due date; its people are invited (`return_day_planned`).

    Returns False (and does nothing) when nobody of the group takes part any more.
    """
    edition = meeting.edition
    people = meeting_people(meeting)
    if not any(p.id != edition.trainer_id for p in people):
        return False
    starts, ends = return_day_moment(meeting.due_on)
    meeting.starts_at, meeting.ends_at = starts, ends
    meeting.location = edition.location or gettext("Place to be announced")
    meeting.state = GroupMeetingState.SCHEDULED
    for step in db.session.scalars(
        select(StepInstance).where(StepInstance.group_meeting_id == meeting.id)
    ):
        if step.state.is_open:
            step.starts_at, step.ends_at = starts, ends
            step.location, step.video_url = meeting.location, meeting.video_url
            step.state = StepState.SCHEDULED
    db.session.flush()
    trainer = edition.trainer if edition.trainer_id else None
    signals.return_day_planned.send(meeting, trainer=trainer)
    db.session.flush()
    return True


def plan_return_days(today: date | None = None) -> int:
    """For the current tenant: plan every return day that is due to be planned. Idempotent: a
    planned meeting is no longer "planned" and its mails have idempotency keys."""
    planned = 0
    for meeting in meetings_to_plan(today or local_today()):
        if plan_return_day(meeting):
            planned += 1
    return planned
