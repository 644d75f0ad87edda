"""deploy/compose.yaml: the whole platform on one machine, from the same image and settings."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE = REPO_ROOT / "deploy" / "compose.yaml"
APP_SERVICES = ("migrate", "onboard", "web", "worker", "scheduler")


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]


def test_every_part_is_there(services):
    assert set(services) >= {
        "db",
        "redis",
        "mailpit",
        "migrate",
        "onboard",
        "web",
        "worker",
        "scheduler",
    }
    commands = {name: services[name]["command"] for name in APP_SERVICES}
    assert commands["migrate"] == ["flask", "--app", "samenleren", "db", "upgrade"]
    assert "tenants onboard" in commands["onboard"][-1]
    assert commands["web"][0] == "gunicorn"
    assert commands["worker"] == ["flask", "--app", "samenleren", "worker"]
    assert commands["scheduler"] == ["flask", "--app", "samenleren", "cron"]


def test_one_shot_steps_run_in_order(services):
    for name in ("migrate", "onboard"):
        assert services[name]["restart"] == "no"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("onboard", "web", "worker", "scheduler"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_one_scheduler(services):
    assert services["scheduler"].get("deploy", {}).get("replicas", 1) == 1


def test_mail_goes_to_the_mail_catcher_with_its_web_interface(services):
    mailpit = services["mailpit"]
    assert mailpit["image"].startswith("axllent/mailpit:")
    assert any(str(port).endswith(":8025") for port in mailpit["ports"])
    assert services["worker"]["environment"]["SMTP_URL"] == "${SMTP_URL:-smtp://mailpit:1025}"


def test_app_containers_are_locked_down_and_share_one_image(services):
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1
    for name in APP_SERVICES:
        service = services[name]
        assert service["read_only"] is True, name
        assert service["tmpfs"] == ["/tmp"], name  # noqa: S108 - the mount path checked
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        environment = service["environment"]
        # Secrets come from the caller's environment, with no default to fall back on.
        for secret in ("SECRET_KEY", "SAMENLEREN_SECRET_ENCRYPTION_KEY"):
            assert environment[secret].startswith("${" + secret + ":?"), (name, secret)
        assert environment["SAMENLEREN_ENV"] == "production"
    assert "healthcheck" not in services["web"] or "/readyz" in str(services["web"]["healthcheck"])
    for name in ("migrate", "onboard", "worker", "scheduler"):
        assert services[name]["healthcheck"] == {"disable": True}, name


def _compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, timeout=30, check=False
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_docker_compose_accepts_the_file():
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    env = {
        **os.environ,
        "SECRET_KEY": "x" * 48,
        "SAMENLEREN_SECRET_ENCRYPTION_KEY": "y" * 43 + "=",
    }
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_only_the_migration_gets_the_owner_credentials(services):
    with_owner = [
        name for name in APP_SERVICES if "MIGRATIONS_DATABASE_URL" in services[name]["environment"]
    ]
    assert with_owner == ["migrate"]
