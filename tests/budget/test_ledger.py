"""The budget ledger's services: commitments from editions, actuals, thresholds, cost figures,
planning and the audit log, all in euro cents."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from samenleren.core.errors_input import InvalidInput
from tests.budget.helpers import book, edition_year, set_costs
from tests.factories import build_world, get, in_tenant
from tests.test_isolation import QueryCounter

pytestmark = pytest.mark.usefixtures("english")


def test_the_manifest_gives_flevoland_five_thousand_euros_a_year(app, tenants):
    from samenleren.budget.ledger import year_overview
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with app.app_context():
        assert db.session.get(Tenant, tenants["flevoland"].id).budget_yearly_cents == 500000
        assert db.session.get(Tenant, tenants["gelderland"].id).budget_yearly_cents is None
    with in_tenant(app, tenants["flevoland"]):
        overview = year_overview(2027)
        assert overview.budget_cents == 500000
        assert not overview.own_amount
        assert overview.forecast_cents == 0
        assert overview.remaining_cents == 500000


def test_an_edition_commits_its_fixed_cost_and_its_cost_per_enrolled_learner(app, tenants):
    from samenleren.budget.ledger import edition_costs, year_overview

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        set_costs(world, 100000, 12550)
        year = edition_year(world)
        (cost,) = edition_costs(year)
        assert (cost.enrolled, cost.committed_cents, cost.open_cents) == (1, 112550, 112550)
        # An invoice booked on the edition is taken off what it still commits: never twice.
        book(world, 30000, on=date(year, 12, 1), category="trainers", edition=world.edition)
        overview = year_overview(year)
        assert overview.editions[0].open_cents == 82550
        trainers = next(line for line in overview.categories if line.key == "trainers")
        assert (trainers.committed_cents, trainers.spent_cents) == (82550, 30000)
        assert overview.forecast_cents == 112550
        assert overview.remaining_cents == 500000 - 112550
        # More invoiced than committed: nothing stays open, nothing goes below zero.
        book(world, 100000, on=date(year, 12, 2), category="trainers", edition=world.edition)
        assert edition_costs(year)[0].open_cents == 0


def test_a_cancelled_edition_commits_nothing(app, tenants):
    from samenleren.budget.ledger import edition_costs
    from samenleren.catalogue.editions import EditionInput, update_edition
    from samenleren.catalogue.models import Edition
    from samenleren.identity.models import User

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        set_costs(world, 100000, 0)
        edition = get(Edition, world.edition)
        update_edition(
            edition,
            get(User, world.admin),
            EditionInput(
                name=edition.name,
                starts_on=edition.starts_on,
                ends_on=edition.ends_on,
                cancelled=True,
                cost_fixed_cents=100000,
            ),
        )
        assert edition_costs(edition.starts_on.year) == []


def test_commitments_of_many_editions_take_one_query(app, tenants):
    from samenleren.budget.ledger import edition_costs
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        set_costs(world, 1000, 500)
        edition = get(Edition, world.edition)
        for i in range(20):
            db.session.add(
                Edition(
                    training_id=world.training,
                    name=f"Extra {i}",
                    starts_on=edition.starts_on,
                    ends_on=edition.ends_on,
                    cost_fixed_cents=1000,
                )
            )
        db.session.commit()
        year = edition.starts_on.year
        counter = QueryCounter(app)
        with counter.counting() as statements:
            costs = edition_costs(year)
        assert len(costs) == 21
        # (the transaction's first statement sets the tenant for row-level security)
        assert [s for s in statements if "set_config" not in s] == statements[-1:]
        assert sum(c.committed_cents for c in costs) == 21 * 1000 + 500


def _warnings(app, tenant):
    from samenleren.core.extensions import db
    from samenleren.notifications.models import Notification

    with in_tenant(app, tenant):
        return sorted(
            db.session.scalars(
                select(Notification.key).where(Notification.kind == "budget_threshold")
            )
        )


def test_the_admins_are_warned_at_80_and_100_percent_once_each_per_year(app, tenants):
    from samenleren.budget.actuals import delete_actual
    from samenleren.budget.ledger import find_year
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        year = edition_year(world)
        book(world, 399999)  # 79.99 %: no warning yet
        db.session.commit()
        assert find_year(year).warned_80_at is None
        first = book(world, 1)  # exactly 80 %
        db.session.commit()
        assert find_year(year).warned_80_at is not None
        assert find_year(year).warned_100_at is None
        # Down below the line and up again: no second warning.
        delete_actual(first, get(User, world.admin))
        book(world, 50)
        db.session.commit()
    assert _warnings(app, flevoland) == [f"budget_threshold:{year}:80:{world.admin}"]
    with in_tenant(app, flevoland):
        book(world, 200000)  # past 100 %
        book(world, 100)
        db.session.commit()
        # Another year has its own warnings.
        book(world, 450000, on=date(year + 1, 2, 1))
        db.session.commit()
    assert _warnings(app, flevoland) == sorted(
        [
            f"budget_threshold:{year}:80:{world.admin}",
            f"budget_threshold:{year}:100:{world.admin}",
            f"budget_threshold:{year + 1}:80:{world.admin}",
        ]
    )


def test_the_warning_mail_says_how_far_the_budget_is_used(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.notifications.models import Notification

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        year = edition_year(world)
        book(world, 410000)
        db.session.commit()
        note = db.session.scalar(
            select(Notification).where(Notification.kind == "budget_threshold")
        )
        assert note.recipient_id == world.admin
        assert note.context["year"] == str(year)
        assert note.context["used"]["nl"] == "€\u00a04.100,00"
        assert note.context["budget"]["en"] == "€\u00a05,000.00"
        assert note.context["path"] == f"/flevoland/budget/?year={year}"


def test_a_commitment_that_grows_with_the_catalogue_warns_too(app, tenants):
    from samenleren.budget.ledger import find_year
    from samenleren.core.extensions import db

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        set_costs(world, 480000, 10000)  # 4,800 + 100 for the one learner: 98 %
        db.session.commit()
        row = find_year(edition_year(world))
        assert row.warned_80_at is not None and row.warned_100_at is None
    assert len(_warnings(app, flevoland)) == 1


def test_a_tenant_without_a_budget_gets_no_warnings(app, tenants):
    from samenleren.budget.ledger import find_year, year_overview

    gelderland = tenants["gelderland"]
    with in_tenant(app, gelderland):
        world = build_world(gelderland)
        book(world, 900000)
        assert find_year(edition_year(world)) is None
        overview = year_overview(edition_year(world))
        assert overview.budget_cents is None and overview.remaining_cents is None
    assert _warnings(app, gelderland) == []


def test_every_change_to_an_expense_is_audited_with_the_amounts_before_and_after(app, tenants):
    from samenleren.audit.models import AuditEvent
    from samenleren.budget.actuals import ActualInput, delete_actual, update_actual
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        admin = get(User, world.admin)
        actual = book(world, 12345, on=date(2027, 3, 1))
        actual_id = actual.id
        update_actual(
            actual,
            ActualInput(spent_on=date(2027, 3, 2), amount_cents=23456, category="venues"),
            admin,
        )
        delete_actual(actual, admin)
        db.session.commit()
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_id == str(actual_id))
            .order_by(AuditEvent.occurred_at)
        ).all()
        assert [e.action for e in events] == [
            "budget.actual_added",
            "budget.actual_changed",
            "budget.actual_deleted",
        ]
        added, changed, deleted = (e.details for e in events)
        assert added["before"] is None and added["after"]["amount_cents"] == 12345
        assert changed["before"]["amount_cents"] == 12345
        assert changed["after"]["amount_cents"] == 23456
        assert changed["after"]["category"] == "venues"
        assert deleted["before"]["amount_cents"] == 23456 and deleted["after"] is None


def test_a_refused_expense_changes_nothing(app, tenants):
    import uuid

    from samenleren.budget.actuals import ActualInput, add_actual
    from samenleren.budget.models import Actual
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        admin = get(User, world.admin)
        for data, field in [
            (ActualInput(date(2027, 1, 1), 0, "other"), "amount"),
            (ActualInput(date(2027, 1, 1), 100, "travel"), "category"),
            (ActualInput(date(1999, 1, 1), 100, "other"), "spent_on"),
            (ActualInput(date(2027, 1, 1), 100, "other", uuid.uuid4()), "edition_id"),
            (ActualInput(date(2027, 1, 1), 100, "other", None, "x" * 101), "invoice_reference"),
        ]:
            with pytest.raises(InvalidInput) as refused:
                add_actual(data, admin)
            assert field in refused.value.errors
        # Someone who is no programme admin may not book at all.
        with pytest.raises(InvalidInput):
            add_actual(ActualInput(date(2027, 1, 1), 100, "other"), get(User, world.learner))
        assert db.session.scalar(select(func.count(Actual.id))) == 0


def test_cost_per_learner_per_completed_trajectory_and_per_applied_result(app, tenants):
    from samenleren.budget.ledger import cost_per, training_costs, year_costs, years_costs
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import Trajectory, TrajectoryStatus

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        year = edition_year(world)
        set_costs(world, 90000, 0)
        book(world, 10000, on=date(year, 1, 15), category="materials")
        costs = year_costs(year)
        assert (costs.cost_cents, costs.learners, costs.completed) == (100000, 1, 0)
        assert costs.per_learner_cents == 100000
        assert costs.per_completed_cents is None  # nobody completed yet: no figure, no error
        assert costs.per_applied_result_cents(3) == 33333
        get(Trajectory, world.trajectory).status = TrajectoryStatus.COMPLETED
        db.session.flush()
        assert year_costs(year).per_completed_cents == 100000
        trend = years_costs(year - 1, year)
        assert [c.year for c in trend] == [year - 1, year]
        assert trend[0].cost_cents == 0 and trend[0].per_learner_cents is None
        from samenleren.budget.ledger import edition_costs

        (training,) = training_costs(edition_costs(year))
        assert (training.enrolled, training.cost_cents, training.per_learner_cents) == (
            1,
            90000,
            90000,
        )
    assert cost_per(1000, 3) == 333
    assert cost_per(1000, 0) is None


def test_run_rate_carries_the_pace_so_far_to_the_end_of_the_year():
    from samenleren.budget.ledger import run_rate

    assert run_rate(100000, 2028, date(2028, 7, 1)) == 200000  # day 183 of 366
    assert run_rate(100000, 2026, date(2027, 7, 2)) == 100000  # a past year: what was spent
    assert run_rate(0, 2028, date(2027, 7, 2)) is None


def test_a_years_budget_and_its_parts_are_set_and_audited(app, tenants):
    from samenleren.audit.models import AuditEvent
    from samenleren.budget.ledger import find_year, year_overview
    from samenleren.budget.planning import set_year_budget
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        admin = get(User, world.admin)
        with pytest.raises(InvalidInput) as refused:
            set_year_budget(2027, 100000, {"venues": 60000, "materials": 50000}, admin)
        assert "amount" in refused.value.errors
        assert find_year(2027) is None
        set_year_budget(2027, 600000, {"venues": 60000}, admin)
        set_year_budget(2027, 650000, {"venues": 60000}, admin)
        db.session.commit()
        overview = year_overview(2027)
        assert overview.budget_cents == 650000 and overview.own_amount
        venues = next(line for line in overview.categories if line.key == "venues")
        assert venues.allocated_cents == 60000 and venues.remaining_cents == 60000
        assert overview.unallocated_cents == 590000
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "budget.set")
        ).all()
        assert [(e.details["before"], e.details["after"]["amount_cents"]) for e in events] == [
            (None, 600000),
            ({"amount_cents": 600000, "allocations": {"venues": 60000}}, 650000),
        ]


def test_categories_are_renamed_per_tenant_and_back(app, tenants):
    from samenleren.budget.ledger import category_names
    from samenleren.budget.planning import rename_categories
    from samenleren.identity.models import User

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        admin = get(User, world.admin)
        rename_categories({"venues": "  Zalen   en catering "}, admin)
        assert category_names()["venues"] == "Zalen en catering"
        with pytest.raises(InvalidInput):
            rename_categories({"other": "Zalen en catering"}, admin)
        rename_categories({"venues": ""}, admin)
        assert category_names()["venues"] == "Venues"
    with in_tenant(app, tenants["gelderland"]):
        assert category_names()["venues"] == "Venues"


def test_the_warning_mail_goes_out_in_the_admins_language(app, tenants, smtp_sink):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.notifications.delivery import send_due

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        year = edition_year(world)
        book(world, 500000)
        db.session.commit()
        admin_email = get(User, world.admin).email
    with in_tenant(app, flevoland):
        assert send_due() == 2  # 80 % and 100 % at once, each its own mail
    smtp_sink.wait_for(2)
    subjects = sorted(str(m["Subject"]) for m in smtp_sink.messages)
    assert subjects == [
        f"Budget {year}: 100% vastgelegd en uitgegeven",
        f"Budget {year}: 80% vastgelegd en uitgegeven",
    ]
    body = smtp_sink.messages[0].get_body(("plain",)).get_content()
    assert "€\u00a05.000,00 van €\u00a05.000,00" in body
    assert f"/flevoland/budget/?year={year}" in body
    assert all(admin_email in str(m["To"]) for m in smtp_sink.messages)


def test_the_ledger_runs_on_sqlite_too(sqlite_app):
    """The embedded default: the same figures from the same queries on SQLite."""
    from samenleren.budget.ledger import overview_costs, year_overview, years_costs
    from samenleren.core.extensions import db
    from samenleren.tenants.manifest import load_manifest
    from samenleren.tenants.services import onboard_tenant
    from tests.conftest import REPO_ROOT, TenantRef

    with sqlite_app.app_context():
        tenant = onboard_tenant(load_manifest(REPO_ROOT / "tenants" / "flevoland.toml")).tenant
        db.session.commit()
        ref = TenantRef(tenant.id, tenant.slug, None)  # type: ignore[arg-type]
    with in_tenant(sqlite_app, ref):
        world = build_world(ref)
        set_costs(world, 100000, 2500)
        year = edition_year(world)
        book(world, 410000, on=date(year, 2, 1), category="venues", edition=world.edition)
        db.session.commit()
        overview = year_overview(year)
        assert (overview.committed_cents, overview.spent_cents) == (0, 410000)
        assert overview.warned[80] is not None and overview.warned[100] is None
        costs = overview_costs(overview)
        assert (costs.learners, costs.per_learner_cents) == (1, 410000)
        assert [c.cost_cents for c in years_costs(year - 1, year)] == [0, 410000]
