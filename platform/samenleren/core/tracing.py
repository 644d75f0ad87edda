"""Optional: traces to an OpenTelemetry collector, errors to Sentry. Both off by default.

* `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set: every request is
  a span (named by method and route pattern, continuing an incoming `traceparent`), exported by
  OTLP over HTTP. The SDK reads its other `OTEL_*` variables itself (`OTEL_SERVICE_NAME`, default
  `samenleren`; `OTEL_TRACES_SAMPLER`...).
* `SENTRY_DSN` set: unhandled errors go to Sentry, without personal data: no user, cookies,
  headers, query string, body or URL (a path may carry a token); `SENTRY_TRACES_SAMPLE_RATE`
  (default 0) adds performance traces.

The packages are the `observability` extra (`pip install samenleren[observability]`), not in the
default install. A variable set without its package installed gives one clear log line and the
app runs on without it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, g, request

log = logging.getLogger(__name__)
_sentry_started = False
_tracer_provider_set = False


def init_app(app: Flask) -> None:
    if app.config.get("SENTRY_DSN"):
        _init_sentry(app)
    if app.config.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        _init_opentelemetry(app)


def _missing(variable: str, package: str) -> None:
    log.warning(
        "%s is set, but %s is not installed: install samenleren[observability]; running without it",
        variable,
        package,
    )


# --- Sentry ----------------------------------------------------------------------------------

#: What of a request Sentry may keep: its method. The URL may carry a token, the rest a person.
_REQUEST_KEYS_KEPT = {"method"}


def scrub_event(event: dict[str, Any], hint: Any = None) -> dict[str, Any]:
    """Sentry's `before_send`: drop the user and everything of the request but its method."""
    event.pop("user", None)
    if isinstance(event.get("request"), dict):
        event["request"] = {
            key: value for key, value in event["request"].items() if key in _REQUEST_KEYS_KEPT
        }
    return event


def _init_sentry(app: Flask) -> None:
    global _sentry_started
    if _sentry_started:
        return
    try:
        import sentry_sdk
        from sentry_sdk.integrations.flask import FlaskIntegration
    except ImportError:
        _missing("SENTRY_DSN", "sentry-sdk")
        return
    sentry_sdk.init(
        dsn=app.config["SENTRY_DSN"],
        environment=app.config["SAMENLEREN_ENV"],
        integrations=[FlaskIntegration()],
        send_default_pii=False,
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
        before_send=scrub_event,  # type: ignore[arg-type, unused-ignore]  # typed only with the extra
        before_send_transaction=scrub_event,  # type: ignore[arg-type, unused-ignore]
    )
    _sentry_started = True
    log.info("errors are reported to Sentry")


# --- OpenTelemetry ---------------------------------------------------------------------------


def _init_opentelemetry(app: Flask) -> None:
    global _tracer_provider_set
    try:
        from opentelemetry import context, propagate, trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        _missing("OTEL_EXPORTER_OTLP_ENDPOINT", "opentelemetry-sdk")
        return
    if not _tracer_provider_set:
        service = os.environ.get("OTEL_SERVICE_NAME", "samenleren")
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        _tracer_provider_set = True
        log.info("traces are exported to an OpenTelemetry collector")
    tracer = trace.get_tracer("samenleren")

    @app.before_request
    def _start_span() -> None:
        route = request.url_rule.rule if request.url_rule is not None else "-"
        span = tracer.start_span(
            f"{request.method} {route}",
            context=propagate.extract(dict(request.headers)),
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": request.method, "http.route": route},
        )
        g.otel_span = span
        g.otel_token = context.attach(trace.set_span_in_context(span))

    @app.after_request
    def _status(response: Any) -> Any:
        span = g.get("otel_span")
        if span is not None:
            span.set_attribute("http.response.status_code", response.status_code)
            if g.get("request_id"):
                span.set_attribute("samenleren.request_id", g.request_id)
        return response

    @app.teardown_request
    def _end_span(exc: BaseException | None) -> None:
        span = g.pop("otel_span", None)
        token = g.pop("otel_token", None)
        if span is not None:
            if exc is not None:
                span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))
            span.end()
        if token is not None:
            context.detach(token)
