"""The programme's figures against the hand-computed year in `tests.insight.helpers`."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import in_tenant
from tests.insight.helpers import build_programme
from tests.test_isolation import QueryCounter


@pytest.fixture
def programme(app, tenants):
    with in_tenant(app, tenants["flevoland"]):
        return build_programme()


def _figures(**filters):
    from samenleren.insight.figures import figures
    from samenleren.insight.scope import Period, Scope

    return figures(Scope(period=Period.of_year(2025), **filters))


def _share(share):
    return None if share.hidden else (share.part, share.whole)


def test_transfer_of_the_whole_tenant(app, tenants, programme):
    with in_tenant(app, tenants["flevoland"]):
        f = _figures()
    assert _share(f.transfer.by_learner) == (5, 8)
    assert _share(f.transfer.by_manager) == (3, 6)
    assert _share(f.transfer.disagreement) == (3, 6)
    # The withdrawn trajectory counts as a trajectory and drop-out, nowhere else.
    assert f.trajectories.value == 10
    assert _share(f.withdrawn) == (1, 10)
    funnel = {stage.key: stage.count.value for stage in f.funnel}
    assert funnel["enrolled"] == 10 and funnel["withdrawn"] == 1
    assert funnel["expected_results"] == 10 and funnel["intake"] == 10
    assert funnel["return_day"] == 0  # no return day was held


def test_groups_of_fewer_than_five_learners_are_hidden(app, tenants, programme):
    with in_tenant(app, tenants["flevoland"]):
        f = _figures()
    rows = {row.label: row for row in f.trainings}
    a, b = rows["Training A"], rows["Training B"]
    assert _share(a.transfer.by_learner) == (3, 5)
    assert a.transfer.by_manager.hidden and a.transfer.by_manager.percent is None
    assert a.trajectories.value == 6 and not a.trajectories.hidden
    assert b.trajectories.hidden and b.transfer.by_learner.hidden
    assert b.transfer.by_manager.hidden and b.transfer.disagreement.hidden
    trainers = {row.label: row for row in f.trainers}
    assert _share(trainers["Tessa"].transfer.by_learner) == (3, 5)
    assert trainers["Bram"].transfer.by_learner.hidden
    goals = {row.goal.id: row for row in f.goals}
    assert _share(goals[programme.ids["G1"]].transfer.by_learner) == (3, 5)
    assert goals[programme.ids["G2"]].expected_results.hidden
    # A goal no trajectory worked on: 0 is about nobody, so it is shown, and listed.
    (empty, *_) = [
        row for row in f.goals if row.goal.id not in {programme.ids["G1"], programme.ids["G2"]}
    ]
    assert empty.trajectories.value == 0 and not empty.trajectories.hidden
    assert empty.goal in f.goals_without_training
    assert f.transfer.by_learner.percent == 63  # 5 of 8: halves round up


def test_a_template_changed_mid_year_counts_the_same_moment(app, tenants, programme):
    """Training B runs on version 2, whose three-months step has another key."""
    with in_tenant(app, tenants["flevoland"]):
        from samenleren.trajectories.models import Trajectory
        from tests.factories import get

        assert (
            get(Trajectory, programme.ids["a1"]).template_version_id
            != get(Trajectory, programme.ids["b1"]).template_version_id
        )
        whole = _figures()
        only_a = _figures(training=programme.ids["training A"])
    # Training B's ratings are in the whole tenant's figures: 5 of 8 is 3 of 5 (A) + 2 of 3 (B).
    assert _share(whole.transfer.by_learner) == (5, 8)
    assert _share(only_a.transfer.by_learner) == (3, 5)
    assert only_a.transfer.by_manager.hidden  # a filtered report is below the whole tenant


def test_a_manager_sees_their_own_team_with_the_same_threshold(app, tenants, programme):
    with in_tenant(app, tenants["flevoland"]):
        mila = _figures(manager=programme.ids["mila"])
        mees = _figures(manager=programme.ids["mees"])
    assert mila.trajectories.value == 7  # a1..a6 and the withdrawn aw
    assert _share(mila.transfer.by_learner) == (3, 5)
    assert mila.transfer.by_manager.hidden
    assert mees.trajectories.hidden and mees.transfer.by_learner.hidden
    assert all(stage.count.hidden for stage in mees.funnel)


def test_manager_involvement_and_the_trend(app, tenants, programme):
    with in_tenant(app, tenants["flevoland"]):
        f = _figures()
    # Intakes held: 9 (aw withdrawn); the manager set the results of all but a3.
    assert _share(f.involvement.intakes_by_manager) == (8, 9)
    # Who took part (helpers.PRESENT, EVALUATED): of 8 intakes with a record the manager
    # attended 6; of 2 evaluations 1.
    assert _share(f.involvement.intakes_with_manager) == (6, 8)
    assert _share(f.involvement.evaluations_with_manager) == (1, 2)
    # Contributions promised by a1 and a2; a1's manager reports it done.
    assert f.involvement.contributions_done.part == 1
    assert f.involvement.contributions_done.whole == 2
    trend = {row.year: row for row in f.trend}
    assert sorted(trend) == [2021, 2022, 2023, 2024, 2025]
    assert _share(trend[2025].by_learner) == (5, 8)
    assert _share(trend[2025].by_manager) == (3, 6)
    assert trend[2024].by_learner.whole == 0


def test_a_period_without_trajectories(app, tenants, programme):
    from samenleren.insight.figures import figures
    from samenleren.insight.scope import Period, Scope

    with in_tenant(app, tenants["flevoland"]):
        f = figures(Scope(period=Period.of_quarter(2025, 1)))
        q3 = figures(Scope(period=Period.of_quarter(2025, 3)))
    assert f.trajectories.value == 0 and f.transfer.by_learner.ratio is None
    assert Period.of_quarter(2025, 3).ends_on == date(2025, 9, 30)
    assert q3.trajectories.value == 3  # training B only, whole tenant: not hidden
    assert _share(q3.transfer.by_learner) == (2, 3)


def test_queries_do_not_grow_with_the_data(app, tenants):
    from samenleren.insight.figures import figures
    from samenleren.insight.scope import Period, Scope

    counter = QueryCounter(app)
    counts = []
    for prefix, extra in (("small.", 0), ("large.", 12)):
        with in_tenant(app, tenants["flevoland"]):
            build_programme(prefix, extra_a=extra)
        with in_tenant(app, tenants["flevoland"]), counter.counting() as statements:
            figures(Scope(period=Period.of_year(2025)))
            counts.append(len(statements))
    # Four for the figures (template versions; trajectories, expected results and goals per
    # group in one; attendance; trend), four for the costs.
    assert counts[0] == counts[1] == 8, counts


def test_the_figures_run_on_sqlite_too(sqlite_app):
    """`make run` reports from SQLite: the same hand-computed year gives the same figures."""
    from samenleren.core.extensions import db
    from samenleren.tenants.manifest import load_manifest
    from samenleren.tenants.services import onboard_tenant
    from tests.conftest import REPO_ROOT, TenantRef

    with sqlite_app.app_context():
        tenant = onboard_tenant(load_manifest(REPO_ROOT / "tenants" / "flevoland.toml")).tenant
        db.session.commit()
        ref = TenantRef(tenant.id, tenant.slug, None)  # type: ignore[arg-type]
    with in_tenant(sqlite_app, ref):
        programme = build_programme()
        f = _figures()
        a = _figures(training=programme.ids["training A"])
    assert _share(f.transfer.by_learner) == (5, 8)
    assert _share(f.transfer.disagreement) == (3, 6)
    assert _share(f.involvement.intakes_by_manager) == (8, 9)
    assert {stage.key: stage.count.value for stage in f.funnel}["withdrawn"] == 1
    assert {row.label: _share(row.transfer.by_learner) for row in f.trainings} == {
        "Training A": (3, 5),
        "Training B": None,
    }
    assert a.trajectories.value == 7 and _share(a.transfer.by_learner) == (3, 5)
