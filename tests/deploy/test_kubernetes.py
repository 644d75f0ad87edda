"""The Kubernetes manifests in deploy/kubernetes: every overlay renders with `kubectl kustomize`,
every object is valid for the pinned Kubernetes version, and the rules a platform team checks
hold (one scheduler, locked-down pods, probes, resources, secrets only by reference)."""

from __future__ import annotations

import base64
import copy
import functools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from samenleren.tenants.manifest import load_manifest

#: The Kubernetes version the manifests are validated against (kubernetes-validate ships its
#: schemas). Raise it together with the oldest version the runbook promises.
KUBERNETES_VERSION = "1.34.0"

REPO_ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE_ROOT = REPO_ROOT / "deploy" / "kubernetes"
OVERLAYS = sorted(path.parent.name for path in KUSTOMIZE_ROOT.glob("overlays/*/kustomization.yaml"))
#: Everything that renders: the base and each overlay.
TARGETS = ["base", *(f"overlays/{name}" for name in OVERLAYS)]
RUNBOOK = REPO_ROOT / "deploy" / "README.md"
#: The one writable place in an app container (a mount path checked here, not a file we use).
TMP = "/tmp"  # noqa: S108

#: Objects of custom resources, which the Kubernetes schemas do not describe; anything else
#: must validate.
CUSTOM_KINDS = {
    ("postgresql.cnpg.io/v1", "Cluster"),
    # The Prometheus Operator's, from deploy/monitoring (tests/deploy/test_monitoring.py).
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
#: The port every app pod serves its Prometheus metrics on (samenleren.core.metrics).
METRICS_PORT = 9100
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
#: Volume types the "restricted" Pod Security Standard allows.
RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
#: What every Samen Leren process needs in production (samenleren.core.config refuses to start
#: without the first ones; REDIS_URL and SMTP_URL make jobs and mail work).
CORE_ENV = {
    "SECRET_KEY",
    "SAMENLEREN_SECRET_ENCRYPTION_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "SMTP_URL",
    "SAMENLEREN_OPERATOR_OIDC_CLIENT_SECRET",
}
#: Variables whose values are secrets, by name.
SECRET_NAME = re.compile(
    r"(SECRET|PASSWORD|TOKEN|_KEY$|^(MIGRATIONS_)?DATABASE_URL$|^REDIS_URL$|^SMTP_URL$)"
)

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None,
    reason="kubectl is not installed: the kustomize overlays cannot be rendered",
)


@functools.cache
def render(target: str) -> tuple[dict[str, Any], ...]:
    """The objects `kubectl kustomize` makes of `target` (cached: each renders once per run)."""
    result = subprocess.run(
        ["kubectl", "kustomize", str(KUSTOMIZE_ROOT / target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {target} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(objects, kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def named(objects, kind: str, name: str) -> dict[str, Any]:
    matches = [obj for obj in of_kind(objects, kind) if obj["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def workloads(objects) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] in WORKLOAD_KINDS]


def is_app(workload: dict[str, Any]) -> bool:
    """A workload running the Samen Leren image (not PostgreSQL or Valkey)."""
    return workload["metadata"]["labels"].get("app.kubernetes.io/name") == "samenleren"


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def app_containers(objects) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(w, c) for w in workloads(objects) if is_app(w) for c in containers(pod_spec(w))]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels", "matchExpressions"}
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value, operator = labels.get(expression["key"]), expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and value is None:
            return False
        if operator == "DoesNotExist" and value is not None:
            return False
    return True


# --- rendering and schemas -----------------------------------------------------------------


def test_every_overlay_is_found():
    assert {"production", "with-database"} <= set(OVERLAYS)


@pytest.mark.parametrize("target", TARGETS)
def test_objects_are_valid_for_the_pinned_kubernetes_version(target):
    custom = []
    for obj in render(target):
        key = (obj["apiVersion"], obj["kind"])
        if key in CUSTOM_KINDS:
            custom.append(obj)
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(part) for part in exc.path)
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']}: {where}: {exc.message}")
    for obj in custom:
        assert obj["metadata"]["name"] and isinstance(obj["spec"], dict)


def test_validation_catches_a_misspelt_field():
    """Strict validation has teeth: an unknown field (here a misspelt probe) is refused."""
    web = copy.deepcopy(named(render("base"), "Deployment", "samenleren-web"))
    container = pod_spec(web)["containers"][0]
    container["readynessProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, KUBERNETES_VERSION, strict=True)


def test_the_old_single_file_is_gone():
    assert not (KUSTOMIZE_ROOT / "samenleren.yaml").exists()


# --- the processes -------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_exactly_one_scheduler_that_is_recreated(target):
    objects = render(target)
    schedulers = [
        (w, c)
        for w, c in app_containers(objects)
        if c.get("command", [])[-1:] == ["cron"] or c.get("args", [])[-1:] == ["cron"]
    ]
    assert len(schedulers) == 1, "exactly one container may run `flask cron`"
    workload, _ = schedulers[0]
    assert workload["kind"] == "Deployment"
    assert workload["spec"]["replicas"] == 1
    assert workload["spec"]["strategy"] == {"type": "Recreate"}
    name = workload["metadata"]["name"]
    for hpa in of_kind(objects, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] != name, "nothing may scale the scheduler"


@pytest.mark.parametrize("target", TARGETS)
def test_web_worker_and_jobs_run_the_right_commands(target):
    objects = render(target)
    commands = {
        w["metadata"]["name"]: c["command"] for w, c in app_containers(objects) if "command" in c
    }
    assert commands["samenleren-web"][0] == "gunicorn"
    assert commands["samenleren-worker"] == ["flask", "--app", "samenleren", "worker"]
    assert commands["samenleren-migrate"] == ["flask", "--app", "samenleren", "db", "upgrade"]
    assert "tenants onboard" in commands["samenleren-onboard"][-1]
    worker = named(objects, "Deployment", "samenleren-worker")
    assert worker["spec"]["replicas"] >= 1


@pytest.mark.parametrize("target", TARGETS)
def test_web_has_probes_an_autoscaler_and_a_disruption_budget(target):
    objects = render(target)
    web = named(objects, "Deployment", "samenleren-web")
    (container,) = pod_spec(web)["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert ports[container[probe]["httpGet"]["port"]] == 8000
    # The autoscaler owns the number of pods; an apply must not reset it.
    assert "replicas" not in web["spec"]
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0

    (hpa,) = [
        h
        for h in of_kind(objects, "HorizontalPodAutoscaler")
        if h["spec"]["scaleTargetRef"]["name"] == "samenleren-web"
    ]
    assert hpa["spec"]["minReplicas"] >= 2
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]

    pod_labels = web["spec"]["template"]["metadata"]["labels"]
    budgets = [
        pdb
        for pdb in of_kind(objects, "PodDisruptionBudget")
        if selects(pdb["spec"]["selector"], pod_labels)
    ]
    assert len(budgets) == 1
    service = named(objects, "Service", "samenleren-web")
    assert selects({"matchLabels": service["spec"]["selector"]}, pod_labels)


# --- locked-down pods ----------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_pods_are_locked_down(target):
    """Every pod, ours and the example database's, meets the restricted Pod Security Standard and
    more: non-root, read-only root file system, no privilege escalation, no capabilities,
    seccomp RuntimeDefault, no service account token."""
    for workload in workloads(render(target)):
        name = workload["metadata"]["name"]
        spec = pod_spec(workload)
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True, name
        assert pod_security.get("runAsUser", 1) != 0, name
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")
        for volume in spec.get("volumes", []):
            kinds = set(volume) - {"name"}
            assert kinds <= RESTRICTED_VOLUME_TYPES, f"{name}: volume {volume['name']}: {kinds}"
        for container in containers(spec):
            where = f"{name}/{container['name']}"
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security.get("privileged", False) is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert not security["capabilities"].get("add"), where
            assert security.get("runAsUser", 1) != 0, where


@pytest.mark.parametrize("target", TARGETS)
def test_every_container_has_requests_and_limits(target):
    for workload in workloads(render(target)):
        for container in containers(pod_spec(workload)):
            resources = container["resources"]
            where = f"{workload['metadata']['name']}/{container['name']}"
            assert {"cpu", "memory"} <= set(resources["requests"]), where
            assert {"cpu", "memory"} <= set(resources["limits"]), where


@pytest.mark.parametrize("target", TARGETS)
def test_app_containers_write_only_to_a_tmp_emptydir(target):
    for workload, container in app_containers(render(target)):
        volumes = {v["name"]: v for v in pod_spec(workload)["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert "emptyDir" in volumes[mounts[TMP]], workload["metadata"]["name"]
        for path, volume in mounts.items():
            if path != TMP:
                assert (
                    "emptyDir" not in volumes[volume]
                    and "persistentVolumeClaim" not in (volumes[volume])
                ), f"{workload['metadata']['name']}: only /tmp is writable"


@pytest.mark.parametrize("target", TARGETS)
def test_service_accounts_mount_no_token(target):
    objects = render(target)
    accounts = of_kind(objects, "ServiceAccount")
    assert accounts
    for account in accounts:
        assert account["automountServiceAccountToken"] is False
    names = {account["metadata"]["name"] for account in accounts}
    for workload in workloads(objects):
        if is_app(workload):
            assert pod_spec(workload)["serviceAccountName"] in names
    assert not of_kind(objects, "RoleBinding") and not of_kind(objects, "ClusterRoleBinding")


# --- settings and secrets ------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_secrets_only_by_reference(target):
    """No Secret object is shipped, no secret value is written into an env entry or a
    ConfigMap, and a URL never carries a literal password."""
    objects = render(target)
    assert not of_kind(objects, "Secret")
    for workload in workloads(objects):
        for container in containers(pod_spec(workload)):
            where = f"{workload['metadata']['name']}/{container['name']}"
            for entry in container.get("env", []):
                if SECRET_NAME.search(entry["name"]):
                    assert set(entry) == {"name", "valueFrom"}, f"{where}: {entry['name']}"
                    assert set(entry["valueFrom"]) == {"secretKeyRef"}, f"{where}: {entry['name']}"
                if "value" in entry:
                    assert_no_password(entry["value"], f"{where}: {entry['name']}")
            for source in container.get("envFrom", []):
                assert set(source) <= {"configMapRef", "secretRef"}, where
            for argument in [*container.get("command", []), *container.get("args", [])]:
                assert_no_password(argument, where)
    for config_map in of_kind(objects, "ConfigMap"):
        for key, value in config_map.get("data", {}).items():
            assert not SECRET_NAME.search(key), f"{config_map['metadata']['name']}: {key}"
            assert_no_password(value, f"{config_map['metadata']['name']}: {key}")


def assert_no_password(value: str, where: str) -> None:
    for match in re.finditer(r"[a-z][a-z0-9+.-]*://\S+", value):
        password = urlsplit(match.group(0)).password
        assert password is None or re.fullmatch(r"\$\([A-Z0-9_]+\)", password), where


def referenced_secrets(objects) -> set[str]:
    names: set[str] = set()
    for workload in workloads(objects):
        for container in containers(pod_spec(workload)):
            for entry in container.get("env", []):
                if "secretKeyRef" in entry.get("valueFrom", {}):
                    names.add(entry["valueFrom"]["secretKeyRef"]["name"])
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    names.add(source["secretRef"]["name"])
        for volume in pod_spec(workload).get("volumes", []):
            if "secret" in volume:
                names.add(volume["secret"]["secretName"])
    for ingress in of_kind(objects, "Ingress"):
        names.update(tls["secretName"] for tls in ingress["spec"].get("tls", []))
    for cluster in of_kind(objects, "Cluster"):
        for role in cluster["spec"].get("managed", {}).get("roles", []):
            names.add(role["passwordSecret"]["name"])
    return names


@pytest.mark.parametrize("target", TARGETS)
def test_every_secret_referenced_is_explained_in_the_runbook(target):
    runbook = RUNBOOK.read_text(encoding="utf-8")
    for name in referenced_secrets(render(target)):
        assert f"`{name}`" in runbook, f"deploy/README.md does not say how to make Secret {name}"


@pytest.mark.parametrize("target", TARGETS)
def test_every_app_process_gets_the_production_settings(target):
    """Production refuses to start without SECRET_KEY, the encryption key, DATABASE_URL and
    SAMENLEREN_BASE_URL; every process (web, worker, scheduler, both Jobs) gets them."""
    for workload, container in app_containers(render(target)):
        names = {entry["name"] for entry in container["env"]}
        assert CORE_ENV <= names, f"{workload['metadata']['name']}: {CORE_ENV - names}"
        config_maps = [
            s["configMapRef"]["name"] for s in container["envFrom"] if "configMapRef" in s
        ]
        assert [name.rsplit("-", 1)[0] for name in config_maps] == ["samenleren-config"]


@pytest.mark.parametrize("target", TARGETS)
def test_only_the_migration_gets_the_owner_credentials(target):
    objects = render(target)
    with_owner = sorted(
        workload["metadata"]["name"]
        for workload, container in app_containers(objects)
        if any(entry["name"] == "MIGRATIONS_DATABASE_URL" for entry in container["env"])
    )
    assert with_owner == ["samenleren-migrate"]
    config = next(
        c
        for c in of_kind(objects, "ConfigMap")
        if c["metadata"]["name"].startswith("samenleren-config")
    )
    assert config["data"]["SAMENLEREN_ENV"] == "production"
    assert config["data"]["SAMENLEREN_BASE_URL"].startswith("https://")


@pytest.mark.parametrize("target", TARGETS)
def test_jobs_run_once_to_completion(target):
    objects = render(target)
    for name in ("samenleren-migrate", "samenleren-onboard"):
        job = named(objects, "Job", name)
        assert pod_spec(job)["restartPolicy"] == "Never"
        assert job["spec"]["backoffLimit"] <= 3
        assert job["spec"]["activeDeadlineSeconds"] > 0
    hooks = {
        name: named(objects, "Job", name)["metadata"]["annotations"]["argocd.argoproj.io/hook"]
        for name in ("samenleren-migrate", "samenleren-onboard")
    }
    assert hooks == {"samenleren-migrate": "PreSync", "samenleren-onboard": "PostSync"}
    onboard = pod_spec(named(objects, "Job", "samenleren-onboard"))
    (manifests,) = [v for v in onboard["volumes"] if v["name"] == "manifests"]
    for source in manifests["projected"]["sources"]:
        config_map = source["configMap"]["name"]
        assert config_map.startswith("samenleren-tenants")
        assert named(objects, "ConfigMap", config_map)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_tenant_manifests_of_an_overlay_load(overlay, tmp_path):
    """What the onboarding Job will apply validates, logos included, laid out as the ConfigMap
    mounts it (every key one file in one folder)."""
    (config_map,) = [
        c
        for c in of_kind(render(f"overlays/{overlay}"), "ConfigMap")
        if c["metadata"]["name"].startswith("samenleren-tenants")
    ]
    files = {**config_map.get("data", {}), **config_map.get("binaryData", {})}
    manifests = [key for key in files if key.endswith(".toml")]
    assert manifests, f"{overlay}: no tenant manifest"
    for key, text in config_map.get("data", {}).items():
        (tmp_path / key).write_text(text, encoding="utf-8")
    for key, encoded in config_map.get("binaryData", {}).items():  # a PNG logo
        (tmp_path / key).write_bytes(base64.b64decode(encoded))
    for key in manifests:
        loaded = load_manifest(tmp_path / key)
        assert f"{loaded.manifest.slug}.toml" == key


# --- network -------------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_ingress_serves_https_only_to_the_web_service(target):
    objects = render(target)
    (ingress,) = of_kind(objects, "Ingress")
    tls_hosts = {host for tls in ingress["spec"]["tls"] for host in tls["hosts"]}
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in tls_hosts
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"]["name"] == "samenleren-web"


@pytest.mark.parametrize("target", TARGETS)
def test_network_policies_deny_by_default_and_admit_only_the_ingress_to_web(target):
    objects = render(target)
    policies = of_kind(objects, "NetworkPolicy")
    pods = {
        w["metadata"]["name"]: w["spec"]["template"]["metadata"]["labels"]
        for w in workloads(objects)
        if is_app(w)
    }
    for name, labels in pods.items():
        applying = [p for p in policies if selects(p["spec"]["podSelector"], labels)]
        assert any(
            set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress")
            and not p["spec"].get("egress")
            for p in applying
        ), f"{name}: no default-deny policy"
        all_rules = [rule for p in applying for rule in p["spec"].get("ingress", [])]
        # The metrics port: only the monitoring namespace, and nothing else on that rule
        # (deploy/monitoring; the base has no such rule, the overlays add it).
        metrics_rules = [r for r in all_rules if [p["port"] for p in r["ports"]] == [METRICS_PORT]]
        for rule in metrics_rules:
            assert rule["from"] == [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    }
                }
            ], f"{name}: the metrics port is for the monitoring namespace only"
        ingress_rules = [r for r in all_rules if r not in metrics_rules]
        if name != "samenleren-web":
            assert not ingress_rules, f"{name} must accept no connections"
            continue
        assert ingress_rules
        for rule in ingress_rules:
            assert [port["port"] for port in rule["ports"]] == [8000]
            assert all(set(peer) == {"namespaceSelector"} for peer in rule["from"])
        egress_ports = {
            port["port"]
            for p in applying
            for rule in p["spec"].get("egress", [])
            for port in rule["ports"]
        }
        assert {53, 5432, 6379, 443} <= egress_ports


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_carry_a_version(overlay):
    for workload in workloads(render(f"overlays/{overlay}")):
        for container in containers(pod_spec(workload)):
            image = container["image"]
            name, _, tag = image.rpartition(":")
            assert name and "/" not in tag and tag not in {"", "latest"}, image
