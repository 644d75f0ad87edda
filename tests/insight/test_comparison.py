"""Comparison with other organisations: opt-in, aggregates only, a median of the others only
from five sharing tenants, and a tenant that does not share never read nor shown.

Every sharing tenant runs the programme of tests.insight.helpers (10 learners in 2025; the
managers rate 3 of 6 results applied: 50 %). Flevoland's costs are test_costs' (197345 cents:
19735 per learner); the others only book an expense, so their cost per learner is a tenth of
it. Gelderland has the same programme and an enormous expense but does not share.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests.factories import add_user, in_tenant
from tests.insight.helpers import build_programme
from tests.insight.test_costs import add_costs
from tests.insight.test_pages import _client, programme  # noqa: F401
from tests.trajectories.test_pages import post

pytestmark = pytest.mark.usefixtures("english")


def _extra_tenant(app, slug: str, spent: int, *, share: bool = True):
    """Another province onboarded from Flevoland's manifest, with the programme, `spent` cents
    booked in 2025 and, when `share`, the choice to share."""
    from samenleren.budget.models import Actual
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.demo.devidp import with_issuer
    from samenleren.insight.comparison import set_sharing
    from samenleren.tenants.manifest import LoadedManifest, load_manifest
    from samenleren.tenants.services import onboard_tenant
    from tests.conftest import REPO_ROOT

    loaded = load_manifest(REPO_ROOT / "tenants" / "flevoland.toml")
    manifest = loaded.manifest.model_copy(update={"slug": slug, "name": slug.title()})
    loaded = with_issuer(
        LoadedManifest(manifest, loaded.logo, loaded.logo_type), f"https://{slug}.invalid"
    )
    with app.app_context():
        tenant = onboard_tenant(loaded).tenant
        db.session.commit()
        with tenant_scope(tenant):
            build_programme(f"{slug}.")
            admin = add_user(f"{slug}.admin", "programme_admin")
            db.session.add(Actual(spent_on=date(2025, 5, 1), amount_cents=spent, category="other"))
            if share:
                set_sharing(admin, True)
            db.session.commit()
        return tenant.id


def _run(app) -> int:
    from samenleren.core.jobs.runtime import perform
    from samenleren.core.jobs.schedule import entry

    periodic = entry("insight.comparisons")
    assert not periodic.per_tenant  # one job for the platform
    return perform(job=periodic.job, tenant_id=None, kwargs={"today": "2025-12-31"})


def _comparison(app, tenant):
    from samenleren.core.extensions import db
    from samenleren.insight.models import Comparison

    with in_tenant(app, tenant):
        return db.session.scalar(select(Comparison).where(Comparison.year == 2025))


def test_the_median_of_the_others_from_five_sharing_tenants(app, tenants, programme):  # noqa: F811
    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db
    from samenleren.insight.models import Comparison

    flevoland, gelderland = tenants["flevoland"], tenants["gelderland"]
    add_costs(app, flevoland, programme)
    with in_tenant(app, gelderland):
        from samenleren.budget.models import Actual

        build_programme("gld.")
        db.session.add(Actual(spent_on=date(2025, 5, 1), amount_cents=99999900, category="other"))
        db.session.commit()
    admin = _client(app, tenants, "pim.admin")
    page = admin.get("/flevoland/insight/?year=2025").get_data(as_text=True)
    assert "does not share its figures" in page
    assert post(app, admin, "/flevoland/insight/sharing", {"share": "yes"}).status_code == 303
    for n, spent in enumerate((100000, 200000, 300000), start=1):
        _extra_tenant(app, f"province{n}", spent)

    # Four tenants share: no median, and a sentence saying why.
    assert _run(app) == 4
    own = _comparison(app, flevoland)
    assert (own.tenants, own.own_transfer_percent, own.own_cost_per_learner_cents) == (
        4,
        50,
        19735,
    )
    assert own.others_transfer_percent is None and own.others_cost_per_learner_cents is None
    page = admin.get("/flevoland/insight/?year=2025").get_data(as_text=True)
    assert "Only 4 organisations shared their figures for 2025" in page
    assert 'id="comparison-table"' not in page

    # A fifth: the median of the four others (10000, 20000, 30000, 40000: the lower middle one).
    _extra_tenant(app, "province4", 400000)
    assert _run(app) == 5
    own = _comparison(app, flevoland)
    assert (own.tenants, own.others_transfer_percent, own.others_cost_per_learner_cents) == (
        5,
        50,
        20000,
    )
    page = admin.get("/flevoland/insight/?year=2025").get_data(as_text=True)
    table = page.split('id="comparison-table"')[1].split("</table>")[0]
    assert "€\u00a0197.35" in table and "€\u00a0200.00" in table and "50%" in table
    # Gelderland's enormous cost per learner (999990) would have moved the median: it was
    # never read, and it got no comparison of its own.
    assert _comparison(app, gelderland) is None
    with in_tenant(app, gelderland):
        assert db.session.scalar(select(func.count(Comparison.id))) == 0
        assert (
            "insight.comparison_computed" not in db.session.scalars(select(AuditEvent.action)).all()
        )
    with in_tenant(app, flevoland):
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "insight.sharing_on" in actions
        # Each run computes last year and this year: two events per run.
        assert actions.count("insight.comparison_computed") == 4

    # Flevoland stops sharing: its comparison goes, and the others' count drops.
    assert post(app, admin, "/flevoland/insight/sharing", {}).status_code == 303
    assert _comparison(app, flevoland) is None
    assert _run(app) == 4


def test_the_sharing_choice_is_the_admins_only(app, tenants, programme):  # noqa: F811
    mila = _client(app, tenants, "mila.manager")
    assert post(app, mila, "/flevoland/insight/sharing", {"share": "yes"}).status_code == 404
    learner = _client(app, tenants, "a1.learner")
    assert post(app, learner, "/flevoland/insight/sharing", {"share": "yes"}).status_code == 404
    from samenleren.core.extensions import db
    from samenleren.insight.models import SharingSetting

    for tenant in tenants.values():
        with in_tenant(app, tenant):
            assert db.session.scalar(select(func.count(SharingSetting.id))) == 0
