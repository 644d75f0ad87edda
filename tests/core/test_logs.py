"""JSON log lines: one per event, with request id, tenant, a pseudonymous user, job id and
duration; and never a token, secret, session id, password, header or note text (the scrub test
runs the requests that handle those and reads every line written meanwhile)."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask

from samenleren.core import logs
from samenleren.core.jobs.runtime import job, perform
from tests.calendars.test_feed import SECRET, _make_link, _path, _schedule_all
from tests.factories import World, build_world, get, in_tenant
from tests.scim.conftest import make_token
from tests.trajectories.test_pages import client_for

pytestmark = pytest.mark.usefixtures("english")


class Captured:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]


@pytest.fixture
def json_log(app: Flask) -> Iterator[Captured]:
    """Everything logged at INFO and above (the production level) as the JSON lines it makes."""
    captured = Captured()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def worlds(app: Flask, tenants) -> dict[str, World]:
    found = {}
    for slug, ref in tenants.items():
        with in_tenant(app, ref):
            found[slug] = build_world(ref)
    return found


@job(queue="default")
def say_something(*, words: str) -> None:
    logging.getLogger("tests.logs").info("the job says %s", words)


def test_every_line_is_one_json_object(app, json_log):
    logging.getLogger("tests.logs").warning("two\nlines", exc_info=ValueError("boom"))
    (line,) = json_log.lines()
    assert line["level"] == "WARNING" and line["logger"] == "tests.logs"
    assert line["message"] == "two\nlines"
    assert line["time"].endswith("+00:00")
    assert "ValueError: boom" in line["exception"]


def test_a_request_id_is_taken_when_well_formed_and_made_otherwise(app, json_log):
    client = app.test_client()
    answer = client.get("/healthz", headers={"X-Request-ID": "ingress-1234abcd"})
    assert answer.headers["X-Request-ID"] == "ingress-1234abcd"
    made = client.get("/readyz", headers={"X-Request-ID": "bad id <script> fake-line"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    other = client.get("/readyz")
    assert other.headers["X-Request-ID"] != made.headers["X-Request-ID"]
    assert "fake-line" not in json_log.text()


def test_a_page_line_names_tenant_pseudonymous_user_endpoint_status_and_duration(
    app, tenants, worlds, json_log
):
    from samenleren.identity.models import User

    world = worlds["flevoland"]
    client = client_for(app, world, "coach")
    answer = client.get(f"/flevoland/trajectories/{world.trajectory}")
    assert answer.status_code == 200
    request_id = answer.headers["X-Request-ID"]
    (line,) = [
        line
        for line in json_log.lines()
        if line.get("request_id") == request_id and line["logger"] == "samenleren.request"
    ]
    assert line["tenant"] == "flevoland"
    assert line["endpoint"].startswith("trajectories.")
    assert line["route"] == "/<tenant>/trajectories/<uuid:trajectory_id>"
    assert line["status"] == 200 and line["method"] == "GET"
    assert isinstance(line["duration_ms"], float)
    with in_tenant(app, world.tenant):
        coach = get(User, world.coach)
        assert line["user"] == logs.pseudonym("user", str(coach.id))
        assert line["user"] not in {str(coach.id), coach.email, coach.subject}
    # The login's own line names the user the same way, never by id.
    login_line = next(line for line in json_log.lines() if line["message"] == "login at flevoland")
    assert login_line["user"] == line["user"]


def test_a_job_line_names_its_job_tenant_and_duration(app, tenants, json_log):
    perform(
        job=f"{__name__}.say_something",
        tenant_id=str(tenants["gelderland"].id),
        kwargs={"words": "hello"},
    )
    said = next(line for line in json_log.lines() if line["message"] == "the job says hello")
    assert said["tenant"] == "gelderland"
    assert said["job"] == f"{__name__}.say_something" and said["job_id"] == "inline"
    done = next(line for line in json_log.lines() if line["message"].endswith(" done"))
    assert done["outcome"] == "succeeded" and done["duration_ms"] >= 0
    assert "request_id" not in said


def test_text_format_for_development_carries_the_same_context(app, tenants):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.TextFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        app.test_client().get("/healthz", headers={"X-Request-ID": "text-format-1"})
        perform(
            job=f"{__name__}.say_something",
            tenant_id=str(tenants["flevoland"].id),
            kwargs={"words": "hi"},
        )
    finally:
        root.removeHandler(handler)
    text = stream.getvalue()
    assert "[tenant=flevoland job=inline] " in text
    assert "the job says hi" in text
    assert not text.lstrip().startswith("{")


def test_credentials_in_a_message_are_masked():
    assert "abc.def" not in logs.mask_credentials("sent Authorization: Bearer abc.def")
    assert "s3cr3t" not in logs.mask_credentials("connect password=s3cr3t host=x")
    assert "tok123" not in logs.mask_credentials("GET /?token=tok123&x=1")


def test_the_log_format_is_chosen_by_the_environment(monkeypatch):
    from samenleren.core.config import ConfigError, log_format_from_env

    monkeypatch.delenv("SAMENLEREN_LOG_FORMAT", raising=False)
    monkeypatch.setenv("SAMENLEREN_ENV", "production")
    assert log_format_from_env() == "json"
    monkeypatch.setenv("SAMENLEREN_ENV", "development")
    assert log_format_from_env() == "text"
    monkeypatch.setenv("SAMENLEREN_LOG_FORMAT", "JSON")
    assert log_format_from_env() == "json"
    monkeypatch.setenv("SAMENLEREN_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError):
        log_format_from_env()


# --- the scrub test --------------------------------------------------------------------------


def test_no_secret_reaches_the_logs(app, tenants, worlds, json_log):
    """Login (the IdP's code and state), a coach reading a confidential note, SCIM with a bearer
    token, a calendar feed by its secret link, a request with a forged Authorization header:
    none of the secrets involved appears in any line, nor anyone's id or address."""
    from samenleren.identity.models import User

    world = worlds["flevoland"]
    _schedule_all(app, world)  # a progress note with SECRET in it

    # Login through the IdP; the callback's query carries the code and the state.
    coach = client_for(app, world, "coach")
    session_cookie = coach.get_cookie("samenleren")
    assert session_cookie is not None

    # The confidential note on the coach's pages.
    page = coach.get(f"/flevoland/trajectories/{world.trajectory}")
    assert page.status_code == 200
    for step_page in re.findall(
        rf"/flevoland/trajectories/{world.trajectory}/steps/[0-9a-f-]{{36}}",
        page.get_data(as_text=True),
    ):
        coach.get(step_page)

    # SCIM with a bearer token (and once with a wrong one).
    token = make_token(app, tenants["flevoland"])
    scim = app.test_client()
    listed = scim.get("/scim/v2/flevoland/Users", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    wrong = "wrong-" + uuid.uuid4().hex
    refused = scim.get("/scim/v2/flevoland/Users", headers={"Authorization": f"Bearer {wrong}"})
    assert refused.status_code == 401

    # The calendar feed by its secret link.
    learner = client_for(app, world, "learner")
    feed_url = _make_link(app, learner)
    feed_token = feed_url.rsplit("/", 1)[1].removesuffix(".ics")
    assert app.test_client().get(_path(feed_url)).status_code == 200

    # A password in a form post and an Authorization header where none is expected.
    app.test_client().post(
        "/flevoland/auth/logout",
        data={"password": "hunter2-Passw0rd"},
        headers={"Authorization": "Basic dXNlcjpodW50ZXIy", "Cookie": "tracker=cookie-value-77"},
    )

    with in_tenant(app, world.tenant):
        people = [get(User, getattr(world, who)) for who in ("coach", "learner")]
    forbidden = {
        "SCIM token": token,
        "wrong SCIM token": wrong,
        "feed token": feed_token,
        "session cookie": session_cookie.value,
        "note text": SECRET,
        "password": "hunter2-Passw0rd",
        "basic credentials": "dXNlcjpodW50ZXIy",
        "cookie value": "cookie-value-77",
        **{f"id of {p.subject}": str(p.id) for p in people},
        **{f"address of {p.subject}": p.email for p in people},
    }
    # The test identity providers are werkzeug servers in this process: their access lines are
    # theirs (an IdP sees its own codes), not the app's.
    lines = [line for line in json_log.lines() if line["logger"] != "werkzeug"]
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    assert len(lines) > 10, "the requests above were logged"
    assert any(line.get("logger") == "samenleren.request" for line in lines)
    for what, value in forbidden.items():
        assert value and value not in text, f"the logs carry the {what}"
    assert "code=" not in text and "state=" not in text
    assert "Authorization" not in text and "Basic " not in text
