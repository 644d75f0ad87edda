"""Matching coaches to learners under the peer-coaching rules.

Hard rules (a coach that breaks one is never suggested and cannot be assigned):
* a coach is a colleague in the active pool, and not the learner;
* never the learner's own manager, nor anyone else in the learner's reporting line (above the
  learner, or reporting to the learner, at any depth): a coach must be a peer;
* never someone of the learner's own department;
* never over capacity: the active trajectories they coach stay within their capacity.

The remaining coaches are ranked for an even load: lowest share of capacity in use first, then
fewest coachees, then name.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from samenleren.coaching.models import CoachProfile
from samenleren.core.extensions import db
from samenleren.identity.directory import search_people
from samenleren.identity.models import Role, User
from samenleren.trajectories.models import Trajectory, TrajectoryStatus


@dataclass(frozen=True)
class CoachLoad:
    profile: CoachProfile
    user: User
    load: int

    @property
    def capacity(self) -> int:
        return self.profile.capacity

    @property
    def share(self) -> float:
        return self.load / self.capacity if self.capacity else 1.0

    @property
    def has_room(self) -> bool:
        return self.load < self.capacity


def coach_loads(*, active_only: bool = False) -> list[CoachLoad]:
    """Every coach of the pool with the number of active trajectories they coach (one query)."""
    loads = (
        select(Trajectory.coach_id.label("coach_id"), func.count().label("load"))
        .where(Trajectory.status == TrajectoryStatus.ACTIVE, Trajectory.coach_id.is_not(None))
        .group_by(Trajectory.coach_id)
        .subquery("loads")
    )
    # Roles are not needed here; without this every page listing coaches pays a selectin query.
    query = (
        select(CoachProfile, User, func.coalesce(loads.c.load, 0))
        .join(User, User.id == CoachProfile.user_id)
        .outerjoin(loads, loads.c.coach_id == CoachProfile.user_id)
        .options(lazyload(User.role_assignments))
    )
    if active_only:
        query = query.where(CoachProfile.active, User.active)
    rows: Sequence[tuple[CoachProfile, User, int]] = db.session.execute(
        query.order_by(User.name, CoachProfile.id)
    ).all()
    return [CoachLoad(profile, user, int(load)) for profile, user, load in rows]


def _reporting_line(learner: User) -> set[uuid.UUID]:
    """Everyone above the learner and everyone reporting to the learner, at any depth.

    One query for the tenant's (id, manager) pairs: a province has a few thousand employees, and
    walking the tree in Python keeps this one statement on PostgreSQL and SQLite alike.
    """
    managers = dict(db.session.execute(select(User.id, User.manager_id)).all())
    line: set[uuid.UUID] = set()
    above = managers.get(learner.id)
    while above is not None and above not in line:
        line.add(above)
        above = managers.get(above)
    reports: dict[uuid.UUID, list[uuid.UUID]] = {}
    for person, manager in managers.items():
        if manager is not None:
            reports.setdefault(manager, []).append(person)
    pending = list(reports.get(learner.id, []))
    while pending:
        person = pending.pop()
        if person not in line and person != learner.id:
            line.add(person)
            pending.extend(reports.get(person, []))
    return line


def refusal(learner: User, candidate: CoachLoad, line: set[uuid.UUID]) -> str | None:
    """Why `candidate` may not coach `learner`, or None when they may."""
    if candidate.user.id == learner.id:
        return gettext("A learner cannot be their own coach.")
    if not candidate.profile.active or not candidate.user.active:
        return gettext("%(name)s is not in the active coach pool.", name=candidate.user.name)
    if candidate.user.id == learner.manager_id:
        return gettext("%(name)s is the learner's manager.", name=candidate.user.name)
    if candidate.user.id in line:
        return gettext(
            "%(name)s is in the learner's reporting line; a coach must be a peer.",
            name=candidate.user.name,
        )
    if learner.department_id is not None and candidate.user.department_id == learner.department_id:
        return gettext("%(name)s works in the learner's own department.", name=candidate.user.name)
    if not candidate.has_room:
        return gettext(
            "%(name)s already coaches %(load)d of %(capacity)d learners.",
            name=candidate.user.name,
            load=candidate.load,
            capacity=candidate.capacity,
        )
    return None


def rank(candidates: Iterable[CoachLoad]) -> list[CoachLoad]:
    return sorted(candidates, key=lambda c: (c.share, c.load, c.user.name))


def suggest_coaches(learner: User, *, limit: int | None = None) -> list[CoachLoad]:
    """The coaches who may coach `learner`, the least loaded first."""
    line = _reporting_line(learner)
    eligible = [c for c in coach_loads() if refusal(learner, c, line) is None]
    ranked = rank(eligible)
    return ranked[:limit] if limit is not None else ranked


#: Coaches suggested on a trajectory's coach page before anyone searches.
SUGGESTED = 5


def find_coaches(learner: User, q: str) -> list[CoachLoad]:
    """The coaches who may coach `learner` and match `q` (name or e-mail address, as every
    picker of people searches), the least loaded first; none while `q` is too short."""
    found = {person.id for person in search_people(q, role=Role.COACH)}
    if not found:
        return []
    return [c for c in suggest_coaches(learner) if c.user.id in found]


def check_coach(
    learner: User, coach: User, *, ignore_trajectory: Trajectory | None = None
) -> str | None:
    """Why `coach` may not coach `learner` now, or None.

    `ignore_trajectory`: a trajectory this coach already coaches that the check is about (a
    re-assignment of the same coach does not count twice against the capacity).
    """
    profile = db.session.scalar(select(CoachProfile).where(CoachProfile.user_id == coach.id))
    if profile is None:
        return gettext("%(name)s is not in the coach pool.", name=coach.name)
    load = db.session.execute(
        select(func.count())
        .select_from(Trajectory)
        .where(Trajectory.coach_id == coach.id, Trajectory.status == TrajectoryStatus.ACTIVE)
    ).scalar_one()
    if ignore_trajectory is not None and ignore_trajectory.coach_id == coach.id:
        load -= 1
    return refusal(learner, CoachLoad(profile, coach, load), _reporting_line(learner))
