"""The audit log page and its CSV export: admin only, newest first, filters, pages, export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.audit.helpers import events
from tests.conftest import TenantRef
from tests.factories import World, build_world, in_tenant
from tests.test_isolation import QueryCounter
from tests.trajectories.test_pages import client_for

PAGE = "/flevoland/audit/"
EXPORT = "/flevoland/audit/export.csv"


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


@pytest.fixture
def admin(app, world) -> FlaskClient:
    client = client_for(app, world, "admin")
    client.get("/flevoland/?lang=en")  # the msgids, whatever the catalogues say
    return client


def add_events(app: Flask, tenant: TenantRef, count: int, *, start: datetime, **columns):
    """`count` events, one minute apart from `start` on, labelled "Actor <n>"."""
    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db

    with in_tenant(app, tenant):
        for n in range(count):
            db.session.add(
                AuditEvent(
                    **(
                        {
                            "action": "login.succeeded",
                            "actor_label": f"Actor {n:03d}",
                            "occurred_at": start + timedelta(minutes=n),
                        }
                        | columns
                    )
                )
            )
        db.session.commit()


def actors_on(page: str) -> list[str]:
    return re.findall(r"Actor \d{3}", page)


def export_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


# --- who may see it -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["learner", "coach", "manager", "trainer", "colleague"])
def test_only_the_programme_admin_sees_the_log(app, world, who):
    client = client_for(app, world, who)
    for path in (PAGE, EXPORT, f"{PAGE}?action=logout", f"{EXPORT}?from=2020-01-01"):
        assert client.get(path).status_code == 404, path
    assert 'href="/flevoland/audit/"' not in client.get("/flevoland/").get_data(as_text=True)
    assert events(app, world.tenant, "audit.exported") == []


def test_anonymous_visitors_are_sent_to_the_login(app, world):
    answer = app.test_client().get(PAGE)
    assert answer.status_code == 302
    assert "/flevoland/auth/login" in answer.headers["Location"]


def test_the_admin_has_a_link_in_the_menu_and_sees_the_log(app, world, admin):
    home = admin.get("/flevoland/").get_data(as_text=True)
    assert 'href="/flevoland/audit/"' in home
    answer = admin.get(PAGE)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "<h1" in page and "Audit log" in page
    assert 'aria-current="page"' in page
    # build_world assigned the coach, and the admin has just logged in: as sentences.
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "assigned Carla Coach flevoland as learning coach to Anna Learner flevoland" in text, (
        text
    )
    assert f'href="/flevoland/trajectories/{world.trajectory}"' in page
    assert "Pim Admin flevoland logged in" in text


# --- newest first, pages ----------------------------------------------------------------------


def test_newest_first_fifty_per_page(app, world, admin):
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    add_events(app, world.tenant, 120, start=start, action="logout")

    first = admin.get(f"{PAGE}?action=logout").get_data(as_text=True)
    assert actors_on(first) == [f"Actor {n:03d}" for n in range(119, 69, -1)]
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = admin.get(f"{PAGE}?action=logout&page=2").get_data(as_text=True)
    assert actors_on(second) == [f"Actor {n:03d}" for n in range(69, 19, -1)]
    assert "page=3" in second and "page=1" in second
    third = admin.get(f"{PAGE}?action=logout&page=3").get_data(as_text=True)
    assert actors_on(third) == [f"Actor {n:03d}" for n in range(19, -1, -1)]
    assert 'rel="next"' not in third
    assert "No events match" in admin.get(f"{PAGE}?action=logout&page=4").get_data(as_text=True)
    # A page number that is no number is the first page.
    assert actors_on(admin.get(f"{PAGE}?action=logout&page=x").get_data(as_text=True)) == (
        actors_on(first)
    )


def test_moments_are_shown_in_dutch_time(app, world, admin):
    add_events(app, world.tenant, 1, start=datetime(2026, 7, 1, 12, 30, tzinfo=UTC))
    page = admin.get(f"{PAGE}?from=2026-07-01&to=2026-07-01").get_data(as_text=True)
    shown = re.search(r'<time datetime="2026-07-01T12:30:00\+00:00">([^<]*)</time>', page)
    assert shown, page
    assert "Jul 1, 2026" in shown.group(1)
    assert "2:30" in shown.group(1) and "PM" in shown.group(1)  # CEST = UTC + 2


def test_queries_per_page_are_few_and_constant(app, world, admin):
    counter = QueryCounter(app)

    def count() -> int:
        admin.get(PAGE)
        with counter.counting() as statements:
            assert admin.get(PAGE).status_code == 200
        return len(statements)

    start = datetime(2026, 1, 5, tzinfo=UTC)
    add_events(app, world.tenant, 3, start=start, subject_type="user", subject_id=str(world.coach))
    small = count()
    add_events(app, world.tenant, 30, start=start, subject_type="user", subject_id=str(world.coach))
    add_events(
        app,
        world.tenant,
        30,
        start=start,
        subject_type="trajectory",
        subject_id=str(world.trajectory),
    )
    large = count()
    assert small == large <= 8, (small, large)


# --- filters ----------------------------------------------------------------------------------


def test_filter_by_action(app, world, admin):
    start = datetime(2026, 2, 1, tzinfo=UTC)
    add_events(app, world.tenant, 2, start=start, action="logout")
    add_events(
        app, world.tenant, 3, start=start, action="login.refused", details={"reason": "state"}
    )
    page = admin.get(f"{PAGE}?action=login.refused").get_data(as_text=True)
    assert len(actors_on(page)) == 3
    assert "The login state was missing, forged or used before" in page
    assert '<option value="login.refused" selected>' in page


def test_filter_by_period_in_whole_dutch_days(app, world, admin):
    # 2026-03-09 23:30 in Amsterdam is 22:30 UTC; 2026-03-11 00:30 in Amsterdam is 23:30 UTC
    # on the 10th.
    moments = {
        "before": datetime(2026, 3, 9, 22, 30, tzinfo=UTC),
        "first": datetime(2026, 3, 9, 23, 0, tzinfo=UTC),
        "last": datetime(2026, 3, 10, 22, 59, tzinfo=UTC),
        "after": datetime(2026, 3, 10, 23, 30, tzinfo=UTC),
    }
    for label, moment in moments.items():
        add_events(
            app, world.tenant, 1, start=moment, actor_label=f"Actor {label}", action="logout"
        )
    page = admin.get(f"{PAGE}?action=logout&from=2026-03-10&to=2026-03-10").get_data(as_text=True)
    assert re.findall(r"Actor (before|first|last|after)", page) == ["last", "first"]
    page = admin.get(f"{PAGE}?action=logout&from=2026-03-10").get_data(as_text=True)
    assert re.findall(r"Actor (before|first|last|after)", page) == ["after", "last", "first"]
    page = admin.get(f"{PAGE}?action=logout&to=2026-03-09").get_data(as_text=True)
    assert re.findall(r"Actor (before|first|last|after)", page) == ["before"]


def test_extreme_dates_mean_no_bound(app, world, admin):
    add_events(app, world.tenant, 2, start=datetime(2026, 3, 1, tzinfo=UTC), action="logout")
    for query in ("from=0001-01-01&to=9999-12-31", "from=0001-01-01", "to=9999-12-31"):
        page = admin.get(f"{PAGE}?action=logout&{query}")
        assert page.status_code == 200, query
        assert len(actors_on(page.get_data(as_text=True))) == 2, query
    assert len(export_rows(admin.get(f"{EXPORT}?action=logout&to=9999-12-31"))) == 3


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2026-03-10&to=2026-03-01", "to", "The end date is before the start date."),
        ("from=10-03-2026", "from", "Give a date as year-month-day"),
        ("to=2026-02-30", "to", "Give a date as year-month-day"),
        ("action=everything", "action", "Choose an action from the list."),
    ],
)
def test_a_wrong_filter_is_explained_next_to_its_field(app, world, admin, query, field, message):
    for path in (f"{PAGE}?{query}", f"{EXPORT}?{query}"):
        answer = admin.get(path)
        assert answer.status_code == 422, path
        page = answer.get_data(as_text=True)
        error = re.search(rf'<p [^>]*id="err-{field}"[^>]*>([^<]*)</p>', page)
        assert error and message in error.group(1), page
        assert f'aria-describedby="err-{field}"' in page
        assert "<table" not in page
    assert events(app, world.tenant, "audit.exported") == []
    # The input is kept.
    assert 'value="2026-03-10"' in admin.get(f"{PAGE}?from=2026-03-10&to=2026-03-01").get_data(
        as_text=True
    )


# --- the export -------------------------------------------------------------------------------


def test_the_export_has_every_filtered_event_and_is_itself_recorded(app, world, admin):
    start = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    add_events(app, world.tenant, 60, start=start, action="logout", ip_address="192.0.2.7")
    add_events(app, world.tenant, 5, start=start, action="login.refused")

    answer = admin.get(f"{EXPORT}?action=logout&from=2026-04-01&to=2026-04-01")
    assert 'filename="audit-flevoland-' in answer.headers["Content-Disposition"]
    assert answer.headers["Cache-Control"] == "no-store"
    header, *rows = export_rows(answer)
    assert header[:6] == ["Moment", "What happened", "Action", "By", "About", "Action code"]
    assert len(rows) == 60  # all of them, not one page
    assert [row[3] for row in rows] == [f"Actor {n:03d}" for n in range(59, -1, -1)]
    assert rows[0][0] == "2026-04-01T10:59:00+02:00"  # 08:59 UTC, in Dutch summer time
    assert rows[0][1] == "Actor 059 logged out"  # a sentence for a person
    assert [rows[0][2], rows[0][5]] == ["Logged out", "logout"]
    assert rows[0][10] == "192.0.2.7"

    (exported,) = events(app, world.tenant, "audit.exported")
    assert exported.actor_id == world.admin
    assert exported.details == {
        "action": "logout",
        "from": "2026-04-01",
        "to": "2026-04-01",
        "format": "csv",
    }
    # The next export contains the first one.
    later = export_rows(admin.get(f"{EXPORT}?action=audit.exported"))
    assert [row[5] for row in later[1:]] == ["audit.exported", "audit.exported"]
    assert later[1][1] == "Pim Admin flevoland downloaded the audit log"


@pytest.mark.parametrize(
    "dangerous",
    ['=HYPERLINK("http://evil.example")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_the_export_neutralises_spreadsheet_formulas(app, world, admin, dangerous):
    add_events(
        app,
        world.tenant,
        1,
        start=datetime(2026, 5, 1, tzinfo=UTC),
        action="logout",
        actor_label=dangerous,
        subject_type="user",
        subject_id=dangerous[:60],
    )
    _, row = export_rows(admin.get(f"{EXPORT}?action=logout"))
    assert row[3] == "'" + dangerous
    assert row[8] == "'" + dangerous[:60]
    for cell in row:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row


def test_ordinary_values_are_exported_as_they_are(app, world, admin):
    add_events(
        app,
        world.tenant,
        1,
        start=datetime(2026, 5, 1, tzinfo=UTC),
        action="logout",
        actor_label='Zoë de Vries, "P&O"',
        details={"note": "a=b"},
    )
    _, row = export_rows(admin.get(f"{EXPORT}?action=logout"))
    assert row[3] == 'Zoë de Vries, "P&O"'
    assert row[9] == '{"note": "a=b"}'


# --- tenants ----------------------------------------------------------------------------------


def test_another_tenants_events_never_appear(app, tenants, world, admin):
    add_events(
        app,
        tenants["gelderland"],
        3,
        start=datetime(2026, 6, 1, tzinfo=UTC),
        actor_label="Gelderse Gebruiker",
        action="logout",
    )
    add_events(
        app, world.tenant, 1, start=datetime(2026, 6, 1, tzinfo=UTC), actor_label="Flevolander"
    )
    page = admin.get(PAGE).get_data(as_text=True)
    assert "Flevolander" in page
    assert "Gelderse Gebruiker" not in page
    export = admin.get(EXPORT).get_data(as_text=True)
    assert "Flevolander" in export
    assert "Gelderse Gebruiker" not in export
    # The flevoland admin's session is anonymous at gelderland.
    assert admin.get("/gelderland/audit/").status_code == 302
    assert admin.get("/gelderland/audit/export.csv").status_code == 302
    assert [e.action for e in events(app, tenants["gelderland"])] == ["logout"] * 3


def test_the_export_streams_for_an_admin_who_never_chose_a_language(app, world):
    """No `lang` in the session: the language comes from the user row while the file streams
    (after the export event's commit); the file must still be complete."""
    start = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    add_events(app, world.tenant, 600, start=start, action="logout")
    admin = client_for(app, world, "admin")
    with admin.session_transaction() as session:
        assert "lang" not in session
    cookie = admin.get_cookie("samenleren")
    assert cookie is not None
    # Over a real HTTP server, as in production: the body is produced after the view returned.
    import requests

    from tests.conftest import serve_wsgi

    with serve_wsgi(app) as base:
        answer = requests.get(
            f"{base}{EXPORT}?action=logout",
            cookies={"samenleren": cookie.value},
            headers={"Host": "localhost"},
            timeout=30,
        )
    assert answer.status_code == 200, answer.text[:500]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Tijdstip", "Wat er gebeurde", "Actie"]  # the tenant's default: Dutch
    assert len(rows) == 601
