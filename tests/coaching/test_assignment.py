"""Giving a trajectory its coach without giving oneself access: nobody assigns themselves, and
the learner hears of every assignment (with how to ask for another coach)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from samenleren.core.errors_input import InvalidInput
from tests.coaching.helpers import client_as, post
from tests.factories import build_world, get, in_tenant


def _pool_admin(app, tenant, world):
    """The world's admin, also in the coach pool (a colleague of another department)."""
    from samenleren.coaching.models import CoachProfile
    from samenleren.core.extensions import db

    with in_tenant(app, tenant):
        db.session.add(CoachProfile(user_id=world.admin, capacity=5))
        db.session.commit()


def test_an_admin_in_the_coach_pool_cannot_assign_themselves(app, tenants):
    from samenleren.coaching.assignment import assign_coach
    from samenleren.identity.models import User
    from samenleren.trajectories.models import CoachAssignment, Trajectory

    tenant = tenants["flevoland"]
    with in_tenant(app, tenant):
        world = build_world(tenant, coached=False)
    _pool_admin(app, tenant, world)
    with in_tenant(app, tenant):
        trajectory = get(Trajectory, world.trajectory)
        admin = get(User, world.admin)
        with pytest.raises(InvalidInput) as refused:
            assign_coach(trajectory, admin, admin)
        assert "zichzelf" in refused.value.errors["coach"]
        assert trajectory.coach_id is None

    # The page refuses it the same way, and writes nothing.
    client = client_as(app, tenant, "admin")
    path = f"/flevoland/trajectories/{world.trajectory}/coach"
    answer = post(client, tenant, path, {"coach": str(world.admin)})
    assert answer.status_code == 422
    assert "zichzelf" in answer.get_data(as_text=True)
    with in_tenant(app, tenant):
        from samenleren.core.extensions import db

        assert get(Trajectory, world.trajectory).coach_id is None
        assert db.session.scalars(select(CoachAssignment)).all() == []

    # Changing the coach to oneself is refused too.
    assert post(client, tenant, path, {"coach": str(world.coach)}).status_code == 303
    answer = post(client, tenant, path, {"coach": str(world.admin), "reason": "ik wil lezen"})
    assert answer.status_code == 422
    with in_tenant(app, tenant):
        assert get(Trajectory, world.trajectory).coach_id == world.coach


def test_another_admin_may_assign_an_admin_who_coaches(app, tenants):
    from samenleren.coaching.assignment import assign_coach
    from samenleren.identity.models import User
    from samenleren.trajectories.models import Trajectory
    from tests.factories import add_user

    tenant = tenants["flevoland"]
    with in_tenant(app, tenant):
        world = build_world(tenant, coached=False)
    _pool_admin(app, tenant, world)
    with in_tenant(app, tenant):
        second = add_user("tweede.admin", "programme_admin")
        trajectory = get(Trajectory, world.trajectory)
        assign_coach(trajectory, get(User, world.admin), second)
        assert trajectory.coach_id == world.admin


def _coach_mails(app, tenant, learner_id):
    from samenleren.core.extensions import db
    from samenleren.notifications.models import Notification

    with in_tenant(app, tenant):
        return [
            (n.key, dict(n.context))
            for n in db.session.scalars(
                select(Notification)
                .where(Notification.kind == "coach_assigned")
                .order_by(Notification.created_at)
            )
            if n.recipient_id == learner_id
        ]


def test_the_learner_is_mailed_every_assignment_and_change(app, tenants):
    from samenleren.coaching.assignment import assign_coach
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.models import Trajectory

    tenant = tenants["flevoland"]
    with in_tenant(app, tenant):
        world = build_world(tenant, coached=False)
        assign_coach(
            get(Trajectory, world.trajectory), get(User, world.coach), get(User, world.admin)
        )
        db.session.commit()
    mails = _coach_mails(app, tenant, world.learner)
    assert len(mails) == 1
    assert mails[0][1]["coach"].startswith("Carla Coach")
    assert mails[0][1]["previous"] == ""
    assert mails[0][1]["by"].startswith("Pim Admin")

    with in_tenant(app, tenant):
        trajectory = get(Trajectory, world.trajectory)
        assign_coach(trajectory, get(User, world.other_coach), get(User, world.admin), "Verhuisd")
        db.session.commit()
    mails = _coach_mails(app, tenant, world.learner)
    assert len(mails) == 2
    assert mails[1][1]["coach"].startswith("Otto Coach")
    assert mails[1][1]["previous"].startswith("Carla Coach")


def test_the_coach_mail_says_how_to_ask_for_another_coach(app, tenants, smtp_sink):
    from samenleren.coaching.assignment import assign_coach
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.notifications.delivery import send_due
    from samenleren.trajectories.models import Trajectory

    tenant = tenants["flevoland"]
    with in_tenant(app, tenant):
        world = build_world(tenant, coached=False)
        assign_coach(
            get(Trajectory, world.trajectory), get(User, world.coach), get(User, world.admin)
        )
        db.session.commit()
    with in_tenant(app, tenant):
        send_due()
    smtp_sink.wait_for(1)
    mails = [m for m in smtp_sink.messages if "Carla Coach" in str(m["Subject"])]
    assert mails, [str(m["Subject"]) for m in smtp_sink.messages]
    body = mails[0].get_body(("plain",)).get_content()
    assert "Carla Coach" in body
    assert "opleidingsadviseur" in body  # how to ask for another coach
    assert str(world.trajectory) in body
