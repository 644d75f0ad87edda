"""The application shell: configuration, health checks, error pages, languages, headers."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask, abort, request
from flask.testing import FlaskClient

from samenleren.core.config import ConfigError, load_config
from tests.conftest import REPO_ROOT, Database, TenantRef

GOOD_SECRET = "x" * 48

#: The English source text of each error page's heading (templates/errors/error.html).
ERROR_TITLES = {
    400: "The request could not be understood",
    403: "You do not have access to this page",
    404: "Page not found",
    413: "The upload is too large",
    500: "Something went wrong on our side",
}
SECRET_DETAIL = "geheim-detail-7f3a"


def dutch(message: str) -> str:
    """The Dutch translation of `message` from the catalogue the app ships."""
    with (REPO_ROOT / "translations" / "nl" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        translated = read_po(f).get(message)
    assert translated is not None and translated.string, f"no Dutch for {message!r}"
    return translated.string


def heading(html: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert match, "no <h1> on the page"
    return match.group(1).strip()


def html_lang(html: str) -> str:
    match = re.search(r'<html[^>]*\blang="([^"]+)"', html)
    assert match, "no <html lang>"
    return match.group(1)


def closed_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- configuration --------------------------------------------------------------------------------


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A complete production environment; each test takes one piece away."""
    monkeypatch.setenv("SAMENLEREN_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://samenleren@db.example.nl/samenleren")
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("SAMENLEREN_SECRET_ENCRYPTION_KEY", "k" * 43 + "=")  # a Fernet key
    monkeypatch.setenv("SAMENLEREN_BASE_URL", "https://samenleren.example.nl/")
    return monkeypatch


def test_production_config_is_complete(production_env: pytest.MonkeyPatch) -> None:
    """With everything set, production config uses psycopg 3 and secure cookies."""
    config = load_config()
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["TESTING"] is False


@pytest.mark.parametrize(
    "secret",
    [None, "", "short", "x" * 31, "development-only-secret-not-for-production"],
    ids=["missing", "empty", "short", "31-chars", "development-secret"],
)
def test_production_refuses_a_weak_secret_key(
    production_env: pytest.MonkeyPatch, secret: str | None
) -> None:
    """A missing, short or known development SECRET_KEY stops a production start."""
    if secret is None:
        production_env.delenv("SECRET_KEY")
    else:
        production_env.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config()


def test_production_refuses_a_missing_database_url(production_env: pytest.MonkeyPatch) -> None:
    """Production never falls back to the embedded SQLite file."""
    production_env.delenv("DATABASE_URL")
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_config()


@pytest.mark.parametrize(
    "value", [None, "", "samenleren.example.nl", "ftp://samenleren.example.nl"]
)
def test_production_refuses_a_missing_base_url(
    production_env: pytest.MonkeyPatch, value: str | None
) -> None:
    """Links in mails and calendar events need the public address: no silent localhost."""
    if value is None:
        production_env.delenv("SAMENLEREN_BASE_URL")
    else:
        production_env.setenv("SAMENLEREN_BASE_URL", value)
    with pytest.raises(ConfigError, match="SAMENLEREN_BASE_URL"):
        load_config()


def test_the_base_url_is_taken_as_given_without_a_trailing_slash(
    production_env: pytest.MonkeyPatch,
) -> None:
    assert load_config()["SAMENLEREN_BASE_URL"] == "https://samenleren.example.nl"
    production_env.setenv("SAMENLEREN_ENV", "development")
    production_env.delenv("SAMENLEREN_BASE_URL")
    assert load_config()["SAMENLEREN_BASE_URL"] == "http://127.0.0.1:5000"


def test_an_unknown_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo in SAMENLEREN_ENV is an error, not silently production or development."""
    monkeypatch.setenv("SAMENLEREN_ENV", "prod")
    with pytest.raises(ConfigError, match="SAMENLEREN_ENV"):
        load_config()


def test_development_falls_back_to_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside production, no DATABASE_URL means the embedded SQLite file."""
    monkeypatch.setenv("SAMENLEREN_ENV", "development")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = load_config()
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert config["SESSION_COOKIE_SECURE"] is False


# --- health ---------------------------------------------------------------------------------------


def test_healthz_answers(app: Flask) -> None:
    """`/healthz` says the process is alive."""
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ok"}


def test_readyz_checks_database_and_redis(app: Flask) -> None:
    """`/readyz` is 200 with both dependencies reachable."""
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["checks"] == {"database": "ok", "redis": "ok"}


@pytest.fixture
def make_app(app: Flask) -> Iterator:
    """Build extra app instances (with the test environment of `app`); disposes their engines."""
    from samenleren import create_app
    from samenleren.core.extensions import db

    made: list[Flask] = []

    def build(overrides: dict) -> Flask:
        made.append(create_app({"SERVER_NAME": None, **overrides}))
        return made[-1]

    yield build
    for extra in made:
        with extra.app_context():
            db.engine.dispose()


def test_readyz_stays_ready_and_names_redis_when_it_is_down(make_app) -> None:
    """With Redis on a closed port the pages still answer, so the pod stays in its Service:
    `/readyz` answers 200, degraded, and names redis (not the database)."""
    down = make_app({"REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"})
    answer = down.test_client().get("/readyz")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["status"] == "degraded"
    assert body["degraded"] == ["redis"]
    assert "down" not in body
    assert body["checks"]["redis"] == "unreachable"
    assert body["checks"]["database"] == "ok"


def test_readyz_names_the_database_when_it_is_down(make_app) -> None:
    """With PostgreSQL unreachable, `/readyz` answers 503 and names the database."""
    down = make_app(
        {"SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://nobody@127.0.0.1:{closed_port()}/x"}
    )
    answer = down.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["down"] == ["database"]


def test_readyz_refuses_a_role_that_bypasses_rls(make_app, database: Database) -> None:
    """Connected as a superuser (which ignores row-level security), the app is not ready."""
    superuser = database.owner_url.replace(database.owner, "postgres", 1)
    assert "@" in superuser and "postgres@" in superuser
    down = make_app(
        {"SQLALCHEMY_DATABASE_URI": superuser.replace("postgresql://", "postgresql+psycopg://")}
    )
    answer = down.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["checks"]["database"] == "role bypasses row-level security"


# --- error pages ----------------------------------------------------------------------------------


@pytest.fixture
def probe_app(make_app) -> Flask:
    """An app with throwaway routes that fail on purpose (400, 403, 413, 500)."""
    application = make_app({"MAX_CONTENT_LENGTH": 1024, "WTF_CSRF_ENABLED": False})

    @application.get("/probe/400")
    def bad_request():
        abort(400)

    @application.get("/probe/403")
    def forbidden():
        abort(403)

    @application.post("/probe/413")
    def upload():
        return str(len(request.form))

    @application.get("/probe/500")
    def crash():
        raise RuntimeError(f"{SECRET_DETAIL}: password=hunter2 at /srv/samenleren/secret.py")

    return application


def _fail(client: FlaskClient, code: int, query: str = "") -> str:
    if code == 404:
        answer = client.get(f"/onbekende-pagina/{query}")
    elif code == 413:
        answer = client.post(f"/probe/413{query}", data={"bestand": "x" * 4096})
    else:
        answer = client.get(f"/probe/{code}{query}")
    assert answer.status_code == code
    assert answer.mimetype == "text/html"
    return answer.get_data(as_text=True)


@pytest.mark.parametrize("code", sorted(ERROR_TITLES))
def test_error_pages_are_dutch_by_default_and_english_on_request(
    probe_app: Flask, code: int
) -> None:
    """Each error page is in Dutch (lang="nl") at first and in English after `?lang=en`."""
    client = probe_app.test_client()
    page = _fail(client, code)
    assert html_lang(page) == "nl"
    assert heading(page) == dutch(ERROR_TITLES[code])
    assert heading(page) != ERROR_TITLES[code]

    page = _fail(client, code, "?lang=en")
    assert html_lang(page) == "en"
    assert heading(page) == ERROR_TITLES[code]


@pytest.mark.parametrize("code", sorted(ERROR_TITLES))
def test_error_pages_show_no_internals(probe_app: Flask, code: int) -> None:
    """No traceback, exception name or exception text reaches the visitor."""
    page = _fail(probe_app.test_client(), code)
    for leak in ("Traceback", "RuntimeError", SECRET_DETAIL, "hunter2", "secret.py", "werkzeug"):
        assert leak not in page


def test_real_routes_give_the_same_error_pages(app: Flask, tenants: dict[str, TenantRef]) -> None:
    """On the shipped app: a POST without CSRF token is 400, an oversized body 413, both as
    pages in the visitor's language."""
    client = app.test_client()
    no_token = client.post("/flevoland/auth/logout")
    assert no_token.status_code == 400
    assert heading(no_token.get_data(as_text=True)) == dutch(ERROR_TITLES[400])
    too_big = client.post(
        "/flevoland/auth/logout?lang=en",
        data={"x": "y" * (app.config["MAX_CONTENT_LENGTH"] + 1)},
    )
    assert too_big.status_code == 413
    assert heading(too_big.get_data(as_text=True)) == ERROR_TITLES[413]


def test_api_clients_get_json_errors(probe_app: Flask) -> None:
    """A client asking for JSON gets a JSON error without internals."""
    answer = probe_app.test_client().get("/probe/500", headers={"Accept": "application/json"})
    assert answer.status_code == 500
    assert answer.get_json() == {"status": 500}


# --- languages ------------------------------------------------------------------------------------


def test_a_language_choice_is_remembered(app: Flask, tenants: dict[str, TenantRef]) -> None:
    """`?lang=fy` switches to Frisian and later requests without it stay Frisian."""
    client = app.test_client()
    assert html_lang(client.get("/flevoland/").get_data(as_text=True)) == "nl"
    assert html_lang(client.get("/flevoland/?lang=fy").get_data(as_text=True)) == "fy"
    assert html_lang(client.get("/flevoland/").get_data(as_text=True)) == "fy"
    assert html_lang(client.get("/gelderland/").get_data(as_text=True)) == "fy"
    assert html_lang(client.get("/flevoland/?lang=xx").get_data(as_text=True)) == "fy"
    assert html_lang(client.get("/flevoland/?lang=en").get_data(as_text=True)) == "en"


def test_the_tenant_default_locale_applies_without_a_choice(
    app: Flask, tmp_path: Path, tenants: dict[str, TenantRef]
) -> None:
    """A tenant whose manifest says default_locale = "fy" is shown in Frisian to a newcomer,
    while other tenants stay Dutch; an explicit choice still wins."""
    manifest = (REPO_ROOT / "tenants" / "flevoland.toml").read_text(encoding="utf-8")
    fryslan = (
        manifest.replace('slug = "flevoland"', 'slug = "fryslan"')
        .replace('name = "Provincie Flevoland"', 'name = "Provinsje Fryslân"')
        .replace('default_locale = "nl"', 'default_locale = "fy"')
        .replace('logo = "assets/flevoland.svg"\n', "")
    )
    path = tmp_path / "fryslan.toml"
    path.write_text(fryslan, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["tenants", "onboard", str(path)])
    assert result.exit_code == 0, result.output

    client = app.test_client()
    assert html_lang(client.get("/fryslan/").get_data(as_text=True)) == "fy"
    assert html_lang(app.test_client().get("/flevoland/").get_data(as_text=True)) == "nl"
    assert html_lang(client.get("/fryslan/?lang=en").get_data(as_text=True)) == "en"


# --- security headers -----------------------------------------------------------------------------


def _csp(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("path", ["/flevoland/", "/onbekend/", "/healthz"])
def test_security_headers(app: Flask, tenants: dict[str, TenantRef], path: str) -> None:
    """Pages, error pages and health checks carry a strict CSP and nosniff."""
    answer = app.test_client().get(path)
    csp = _csp(answer.headers["Content-Security-Policy"])
    script_src = csp.get("script-src", csp["default-src"])
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_script(app: Flask, tenants: dict[str, TenantRef]) -> None:
    """The CSP forbids inline script, so no page may rely on it."""
    page = app.test_client().get("/flevoland/").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert not re.search(r"\son[a-z]+=", page)


# --- packaging ------------------------------------------------------------------------------------


def test_platform_folder_is_no_package() -> None:
    """`platform/` has no `__init__.py`, so it cannot shadow the standard library module."""
    assert (REPO_ROOT / "platform" / "samenleren" / "__init__.py").is_file()
    assert not (REPO_ROOT / "platform" / "__init__.py").exists()


def test_platform_is_still_the_standard_library() -> None:
    """`import platform` from the repository root gives the standard library, which works."""
    import platform

    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(platform.__file__).resolve().parent == stdlib
    assert platform.system()
    found = subprocess.run(
        [sys.executable, "-c", "import platform; print(platform.__file__, platform.system())"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert Path(found[0]).resolve().parent == stdlib
    assert found[1] == platform.system()


def test_postgresql_compiles_no_statement_just_in_time(app: Flask, sqlite_app: Flask) -> None:
    """JIT compilation is off on the application's PostgreSQL connections (it cost the
    programme report more than it saved); SQLite gets no PostgreSQL startup option."""
    from sqlalchemy import text

    from samenleren.core.extensions import db

    with app.app_context():
        assert db.session.execute(text("SHOW jit")).scalar() == "off"
    with sqlite_app.app_context():
        assert "connect_args" not in sqlite_app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        assert db.session.execute(text("SELECT 1")).scalar() == 1


def test_the_wsgi_entry_point_freezes_what_startup_built(tmp_path: Path) -> None:
    """gunicorn's entry point moves the objects built at startup out of the cycle collector's
    way (`app.serving.ready_to_serve`), and then serves."""
    script = (
        "import gc\n"
        "before = gc.get_freeze_count()\n"
        "from samenleren.wsgi import app\n"
        "frozen = gc.get_freeze_count()\n"
        "assert before == 0 and frozen > 50_000, (before, frozen)\n"
        "assert app.test_client().get('/healthz').status_code == 200\n"
        "print('frozen', frozen)\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "SAMENLEREN_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite'}",
        "SAMENLEREN_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO_ROOT / "platform"),
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("frozen ")
