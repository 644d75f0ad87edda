"""The application factory: configuration, extensions, domains, blueprints and CLI commands."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from samenleren.core.config import LANGUAGES, engine_options, load_config
from samenleren.core.jobs import runtime


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration from the environment, then `overrides` (tests)."""
    # The import name of the package, so that its templates/ and static/ are the app's own.
    app = Flask("samenleren")
    app.config.update(load_config())
    if overrides:
        app.config.update(overrides)
        if "SQLALCHEMY_DATABASE_URI" in overrides and "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
            # The engine's options depend on the database (PostgreSQL's startup options).
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
                app.config["SQLALCHEMY_DATABASE_URI"],
                app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"],
            )
    if app.config["SAMENLEREN_PROXY_FIX"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    _init_observability(app)
    _init_extensions(app)
    _init_domains(app)
    _register_blueprints(app)
    _register_cli(app)
    # A worker that runs a job outside any app context builds its app the same way.
    runtime.use_app_factory(create_app)
    return app


def _init_observability(app: Flask) -> None:
    """JSON or text logs with request and job context, Prometheus metrics, and the optional
    tracing and error reporting (README, "Observability")."""
    from samenleren.core import logs, metrics, tracing
    from samenleren.core.jobs.queue_metrics import queue_metrics

    logs.configure_logging(app.config["SAMENLEREN_LOG_FORMAT"], app.config["SAMENLEREN_LOG_LEVEL"])
    logs.init_app(app)
    metrics.init_app(app)
    metrics.register_collector("queues", queue_metrics)
    tracing.init_app(app)


def _init_extensions(app: Flask) -> None:
    from flask_talisman import Talisman

    # Importing the models registers them (and the tenancy events) before anything runs.
    from samenleren.app import models  # noqa: F401
    from samenleren.core import assets, formatting, i18n, money, ratelimits
    from samenleren.core.config import REPO_ROOT
    from samenleren.core.errors import init_error_pages
    from samenleren.core.extensions import babel, csrf, db, login_manager, migrate
    from samenleren.core.web import init_tenant_resolution

    db.init_app(app)
    migrate.init_app(app, db, directory=str(REPO_ROOT / "migrations"))
    babel.init_app(
        app,
        default_locale=app.config["BABEL_DEFAULT_LOCALE"],
        default_translation_directories=app.config["BABEL_TRANSLATION_DIRECTORIES"],
        locale_selector=i18n.select_locale,
        default_timezone="Europe/Amsterdam",
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = None  # the login session row is the protection
    from samenleren.identity.views import allow_logout_at_idp, remember_idp_origin

    app.before_request(remember_idp_origin)
    app.after_request(allow_logout_at_idp)  # runs after Talisman's header (registered later)
    Talisman(
        app,
        force_https=False,  # TLS ends at the load balancer; Secure cookies and HSTS still apply
        strict_transport_security=app.config["SAMENLEREN_ENV"] == "production",
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy={
            "default-src": "'self'",
            "img-src": "'self' data:",
            "style-src": "'self'",
            "script-src": "'self'",
            "frame-ancestors": "'none'",
            "form-action": "'self'",
            "base-uri": "'self'",
            "object-src": "'none'",
        },
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy={"geolocation": "()", "camera": "()", "microphone": "()"},
    )
    init_tenant_resolution(app)
    assets.init_app(app)
    init_error_pages(app)
    ratelimits.init_app(app)
    formatting.init_app(app)
    money.init_app(app)
    app.before_request(i18n.remember_language_choice)
    from samenleren.core.terminology import term
    from samenleren.identity.sso_settings import example_issuer

    # The tenant's own words for the main nouns (`{{ term("coach", plural=true) }}`); a global,
    # so macros imported without context have it too.
    app.jinja_env.globals["term"] = term
    app.jinja_env.globals["example_issuer"] = example_issuer

    app.context_processor(i18n.template_translations)

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        from flask_babel import get_locale

        from samenleren.core.tenancy import current_tenant

        return {
            "tenant": current_tenant(),
            "LANGUAGES": LANGUAGES,
            "LANGUAGE_NAMES": i18n.LANGUAGE_NAMES,
            "current_locale": str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"]),
        }


def _init_domains(app: Flask) -> None:
    """Each domain connects its signal receivers and registers its periodic jobs."""
    from samenleren import (
        audit,
        budget,
        calendars,
        exports,
        identity,
        insight,
        notifications,
        privacy,
        process_templates,
        retention,
        trajectories,
    )

    for domain in (
        audit,
        identity,
        process_templates,
        trajectories,
        budget,
        notifications,
        calendars,
        exports,
        retention,
        privacy,
        insight,
    ):
        domain.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from samenleren.audit_log.views import bp as audit_bp
    from samenleren.budget.views import bp as budget_bp
    from samenleren.calendars.views import bp as calendars_bp
    from samenleren.catalogue.views import bp as catalogue_bp
    from samenleren.coaching.views import bp as coaching_bp
    from samenleren.core.favicon import bp as favicon_bp
    from samenleren.core.health import bp as health_bp
    from samenleren.dashboards.views import bp as dashboards_bp
    from samenleren.exports.views import bp as exports_bp
    from samenleren.identity.people_views import bp as people_bp
    from samenleren.identity.sso_views import bp as sso_bp
    from samenleren.identity.trainer_views import bp as trainers_bp
    from samenleren.identity.views import bp as identity_bp
    from samenleren.insight.views import bp as insight_bp
    from samenleren.notifications.views import bp as notifications_bp
    from samenleren.operator.queue_views import bp as operator_jobs_bp
    from samenleren.operator.views import bp as operator_bp
    from samenleren.privacy.views import bp as privacy_bp
    from samenleren.process_templates.editor import step_views  # noqa: F401 (see below)
    from samenleren.process_templates.editor.views import bp as process_templates_bp
    from samenleren.process_templates.library.views import bp as library_bp
    from samenleren.process_templates.versions.views import bp as template_versions_bp
    from samenleren.public.views import bp as public_bp
    from samenleren.retention.views import bp as retention_bp
    from samenleren.scim.views import bp as scim_bp
    from samenleren.tenants.views import bp as tenants_bp
    from samenleren.trajectories.moving_views import bp as template_moves_bp
    from samenleren.trajectories.views import bp as trajectories_bp

    # The editor's blueprint has its pages in two modules: `editor.views` makes it, and importing
    # `editor.step_views` (above) adds the pages of a draft's steps and fields to it.
    for blueprint in (
        health_bp,
        favicon_bp,
        tenants_bp,
        identity_bp,
        sso_bp,
        people_bp,
        trainers_bp,
        catalogue_bp,
        coaching_bp,
        budget_bp,
        trajectories_bp,
        calendars_bp,
        dashboards_bp,
        insight_bp,
        exports_bp,
        retention_bp,
        privacy_bp,
        audit_bp,
        operator_bp,
        operator_jobs_bp,
        scim_bp,
        notifications_bp,
        library_bp,
        process_templates_bp,
        template_versions_bp,
        template_moves_bp,
        public_bp,
    ):
        app.register_blueprint(blueprint)


def _register_cli(app: Flask) -> None:
    from samenleren.audit.cli import audit_cli
    from samenleren.bench.cli import bench_cli
    from samenleren.core.jobs.cli import cron_command, jobs_cli, worker_command
    from samenleren.demo.cli import demo_cli
    from samenleren.identity.cli import sso_cli
    from samenleren.process_templates.cli import templates_cli
    from samenleren.scim.cli import scim_cli
    from samenleren.tenants.cli import tenants_cli

    app.cli.add_command(tenants_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(bench_cli)
    app.cli.add_command(sso_cli)
    app.cli.add_command(scim_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(cron_command)
    app.cli.add_command(templates_cli)
    app.cli.add_command(audit_cli)
