"""deploy/monitoring: the alert rules and the Grafana dashboard refer to metrics the app really
exports, the rules cover what a platform team alerts on, and the overlays render them with a
scrape path that only the monitoring namespace may use."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from samenleren.core import metrics
from tests.deploy.test_kubernetes import (
    METRICS_PORT,
    OVERLAYS,
    app_containers,
    named,
    of_kind,
    pod_spec,
    render,
    selects,
    workloads,
)

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
RULES = MONITORING / "prometheusrule.yaml"
DASHBOARD = MONITORING / "samenleren-dashboard.json"
#: What the rules must alert on, by alert name.
EXPECTED_ALERTS = {
    "SamenLerenHighErrorRate": "samenleren_http_request_duration_seconds_count",
    "SamenLerenSlowPages": "samenleren_http_request_duration_seconds_bucket",
    "SamenLerenOutboxBacklog": "samenleren_outbox_oldest_due_age_seconds",
    "SamenLerenSchedulerHeartbeatMissing": "samenleren_scheduler_heartbeat_timestamp_seconds",
    "SamenLerenJobsFailing": "samenleren_job_failures_total",
}
#: PromQL words that are not metric names.
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "rate", "increase", "irate", "by", "without", "on",
    "ignoring", "group_left", "group_right", "or", "and", "unless", "time", "absent",
    "histogram_quantile", "topk", "bottomk", "le", "offset", "bool",
}  # fmt: skip


def app_metric_names(app) -> set[str]:
    """Every sample name the app's registries can produce: the process's own (requests, logins,
    jobs, heartbeat) and those computed at scrape time (queues, outbox), asked of a live app."""
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    metrics.scheduler_heartbeat()
    # Make one sample of each labelled metric so that its series names appear.
    metrics.REQUEST_DURATION.labels(endpoint="health.healthz", method="GET", status="2xx")
    metrics.LOGIN_FAILURES.labels(tenant="flevoland", reason="idp_error")
    metrics.JOB_DURATION.labels(job="x", outcome="failed")
    metrics.JOB_FAILURES.labels(job="x")
    names = set()
    text = generate_latest(metrics.scrape_registry(app)).decode()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def metric_names_in(expr: str) -> set[str]:
    """The metric names a PromQL expression uses (label matchers, strings and durations
    removed)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    words = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", expr))
    return {word for word in words - PROMQL_WORDS if not re.fullmatch(r"\d+[smhdw]?", word)}


def balanced(expr: str) -> bool:
    depth = {"(": 0, "{": 0, "[": 0}
    closing = {")": "(", "}": "{", "]": "["}
    cleaned = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    for char in cleaned:
        if char in depth:
            depth[char] += 1
        elif char in closing:
            depth[closing[char]] -= 1
            if depth[closing[char]] < 0:
                return False
    return not any(depth.values())


def rules() -> list[dict]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    assert document["apiVersion"] == "monitoring.coreos.com/v1"
    assert document["kind"] == "PrometheusRule"
    return [rule for group in document["spec"]["groups"] for rule in group["rules"]]


def test_the_rules_alert_on_what_a_platform_team_expects():
    by_name = {rule["alert"]: rule for rule in rules()}
    for alert, metric in EXPECTED_ALERTS.items():
        assert alert in by_name, f"no alert {alert}"
        assert metric in metric_names_in(by_name[alert]["expr"]), alert
    for rule in rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule["alert"]


def test_every_rule_is_wellformed_and_uses_exported_metrics(app):
    exported = app_metric_names(app)
    for rule in rules():
        expr = rule["expr"]
        assert balanced(expr), f"{rule['alert']}: unbalanced brackets"
        used = metric_names_in(expr)
        assert used, rule["alert"]
        assert used <= exported, f"{rule['alert']}: {used - exported} are not exported"


def test_the_dashboard_uses_exported_metrics(app):
    exported = app_metric_names(app)
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["title"]
    targets = [target for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(dashboard["panels"]) >= 8
    for target in targets:
        assert balanced(target["expr"]), target["expr"]
        used = metric_names_in(target["expr"])
        assert used and used <= exported, f"{target['expr']}: {used - exported}"
    shown = set().union(*(metric_names_in(t["expr"]) for t in targets))
    for metric in EXPECTED_ALERTS.values():
        assert metric in shown, f"the dashboard shows no {metric}"


def test_metrics_carry_no_tenant_on_the_latency_histogram():
    assert "tenant" not in metrics.REQUEST_DURATION._labelnames
    assert set(metrics.REQUEST_DURATION._labelnames) == {"endpoint", "method", "status"}


# --- rendered -----------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlays_render_the_monitoring_objects(overlay):
    objects = render(f"overlays/{overlay}")
    rule = named(objects, "PrometheusRule", "samenleren")
    assert {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]} >= set(EXPECTED_ALERTS)
    monitor = named(objects, "PodMonitor", "samenleren")
    assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["metrics"]
    dashboard = named(objects, "ConfigMap", "samenleren-grafana-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    json.loads(dashboard["data"]["samenleren-dashboard.json"])
    for workload in workloads(objects):
        if workload["metadata"]["labels"].get("app.kubernetes.io/name") == "samenleren":
            labels = workload["spec"]["template"]["metadata"]["labels"]
            assert selects(monitor["spec"]["selector"], labels)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_long_running_process_serves_metrics_on_a_port_the_ingress_does_not_reach(overlay):
    objects = render(f"overlays/{overlay}")
    config = next(
        c
        for c in of_kind(objects, "ConfigMap")
        if c["metadata"]["name"].startswith("samenleren-config")
    )
    assert config["data"]["SAMENLEREN_METRICS_PORT"] == str(METRICS_PORT)
    assert config["data"]["SAMENLEREN_LOG_FORMAT"] == "json"
    for workload, container in app_containers(objects):
        if workload["kind"] != "Deployment":
            continue
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        assert ports.get("metrics") == METRICS_PORT, workload["metadata"]["name"]
    service = named(objects, "Service", "samenleren-web")
    assert METRICS_PORT not in [p.get("targetPort") for p in service["spec"]["ports"]]
    assert "metrics" not in [p.get("targetPort") for p in service["spec"]["ports"]]
    for ingress in of_kind(objects, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["port"] != {"number": METRICS_PORT}
    policy = named(objects, "NetworkPolicy", "samenleren-metrics-from-monitoring")
    (rule,) = policy["spec"]["ingress"]
    assert [p["port"] for p in rule["ports"]] == [METRICS_PORT]
    pods = [w for w in workloads(objects) if pod_spec(w) and w["kind"] == "Deployment"]
    assert all(
        selects(policy["spec"]["podSelector"], w["spec"]["template"]["metadata"]["labels"])
        for w in pods
        if w["metadata"]["labels"].get("app.kubernetes.io/name") == "samenleren"
    )
