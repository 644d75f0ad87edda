"""`flask --app samenleren bench generate`: real tenants, every table, RLS kept, deterministic.

The `tiny` scale (two small tenants) stands in for seed and national, which differ only in their
plans (checked without a database below).
"""

from __future__ import annotations

import uuid
from datetime import date

import psycopg
import pytest
from flask import Flask

from samenleren.bench.generate import (
    COLUMNS,
    TenantBase,
    _national_sizes,
    scale_named,
    tenant_rows,
)
from tests.conftest import Database, IdP, TenantRef, login

TODAY = date(2026, 12, 3)


def _generate(app: Flask, *args: str):
    return app.test_cli_runner().invoke(
        args=["bench", "generate", "--scale", "tiny", "--today", TODAY.isoformat(), *args]
    )


def test_national_and_seed_plans() -> None:
    national = scale_named("national")
    sizes = [plan.employees for plan in national.tenants]
    assert len(sizes) == 400
    assert sum(sizes) == 200_000
    assert sizes[0] == 15_000 and min(sizes) >= 40
    assert sizes[:-1] == sorted(sizes[:-1], reverse=True)
    assert len({plan.slug for plan in national.tenants}) == 400
    seed = scale_named("seed")
    assert [plan.slug for plan in seed.tenants] == ["flevoland"]
    assert _national_sizes(10, 1000, 300)[0] == 300
    with pytest.raises(ValueError, match="unknown scale"):
        scale_named("galactic")


def test_the_rows_of_a_tenant_follow_the_seed() -> None:
    from samenleren.process_templates.services import FLEVOLAND_KEY, builtin_definition

    definition = builtin_definition(FLEVOLAND_KEY)
    base = TenantBase(
        uuid.UUID(int=1), "bench-a", "http://idp", uuid.UUID(int=2), uuid.UUID(int=3), definition
    )
    scale = scale_named("tiny")
    plan = scale.tenants[0]
    first = tenant_rows(base, plan, scale, 7, TODAY).tables
    again = tenant_rows(base, plan, scale, 7, TODAY).tables
    other = tenant_rows(base, plan, scale, 8, TODAY).tables
    assert first == again
    assert first["users"] != other["users"]
    assert len(first["users"]) == plan.employees
    assert len(first["trajectories"]) == round(plan.employees * scale.trajectories_per_employee)
    for table, rows in first.items():
        assert all(len(row) == len(COLUMNS[table]) for row in rows), table
    # Every trajectory has each step of the model, the progress conversation once or twice.
    per_trajectory: dict[uuid.UUID, int] = {}
    for row in first["step_instances"]:
        per_trajectory[row[2]] = per_trajectory.get(row[2], 0) + 1
    steps = len(definition["steps"])
    assert set(per_trajectory.values()) <= {steps, steps + 1}


def test_the_programme_report_has_results_to_measure() -> None:
    """Learning goals link to the tenant's organisation goals, expected results belong to a
    learning goal of their own trajectory, and ratings come from done steps that ask for them,
    at most one per result, moment and rater."""
    from samenleren.process_templates.services import FLEVOLAND_KEY, builtin_definition

    goals = [uuid.UUID(int=10), uuid.UUID(int=11)]
    base = TenantBase(
        uuid.UUID(int=1),
        "bench-a",
        "http://idp",
        uuid.UUID(int=2),
        uuid.UUID(int=3),
        builtin_definition(FLEVOLAND_KEY),
        organisation_goals=goals,
    )
    scale = scale_named("tiny")
    tables = tenant_rows(base, scale.tenants[0], scale, 7, TODAY).tables
    goal_of = {row[1]: row[2] for row in tables["learning_goals"]}  # id -> trajectory
    assert {row[3] for row in tables["learning_goal_links"]} <= set(goals)
    assert {row[2] for row in tables["learning_goal_links"]} == set(goal_of)
    results = {row[1]: row for row in tables["expected_results"]}
    assert results and all(goal_of[row[3]] == row[2] for row in results.values())
    steps = {row[1]: row for row in tables["step_instances"]}
    ratings = tables["result_ratings"]
    assert {row[5] for row in ratings} == {"learner", "manager"}
    assert {row[4] for row in ratings} == {"evaluation", "three_months", "six_months"}
    assert len({(row[2], row[4], row[5]) for row in ratings}) == len(ratings)
    for row in ratings:
        step = steps[row[3]]
        assert step[7] == "done" and step[2] == results[row[2]][2]


def test_generate_fills_real_tenants_behind_row_level_security(
    app: Flask, database: Database, idps: dict[str, IdP]
) -> None:
    idp = idps["flevoland"]
    result = _generate(app, "--issuer", idp.issuer)
    assert result.exit_code == 0, result.output
    assert "2 tenants" in result.output

    with psycopg.connect(database.owner_url) as owner:
        forced = owner.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND NOT relforcerowsecurity",
            (list(COLUMNS),),
        ).fetchall()
        assert forced == [], "FORCE ROW LEVEL SECURITY must be back on every table"
        tenant_id = owner.execute("SELECT id FROM tenants WHERE slug = 'bench-a'").fetchone()[0]
    with psycopg.connect(database.runtime_url) as runtime:
        # The runtime role sees nothing without a tenant, and only that tenant's rows with one.
        assert runtime.execute("SELECT count(*) FROM trajectories").fetchone()[0] == 0
        runtime.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
        counts = {
            table: runtime.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in COLUMNS
        }
        assert (
            runtime.execute("SELECT count(DISTINCT tenant_id) FROM step_instances").fetchone()[0]
            == 1
        )
    assert counts["users"] == 60 and counts["trajectories"] == 120
    assert all(count > 0 for count in counts.values()), {t: c for t, c in counts.items() if not c}
    assert counts["template_versions"] == 3  # the onboarded first version and two more

    # A generated learner logs in through the tenant's IdP and sees their trajectories.
    with psycopg.connect(database.owner_url) as owner:
        owner.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
        subject = owner.execute(
            "SELECT u.subject FROM users u JOIN trajectories t ON t.tenant_id = u.tenant_id "
            "AND t.learner_id = u.id WHERE t.status != 'withdrawn' ORDER BY u.subject LIMIT 1"
        ).fetchone()[0]
    client = app.test_client()
    assert login(client, TenantRef(tenant_id, "bench-a", idp), subject).status_code == 302
    page = client.get("/bench-a/dashboard/learner")
    assert page.status_code == 200

    # A second run into the same database changes nothing and says why.
    again = _generate(app)
    assert again.exit_code == 1
    assert "exists already" in again.output
