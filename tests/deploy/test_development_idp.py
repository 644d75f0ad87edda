"""The development identity provider (oidc-provider-mock) stays out of production: it is a
development extra, the image installs none, and the app refuses to start it in production."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.deploy.test_dockerfile import instructions

REPO_ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0] for requirement in requirements}


def test_the_development_idp_is_a_development_extra_only():
    project = PYPROJECT["project"]
    assert "oidc-provider-mock" not in names(project["dependencies"])
    assert "oidc-provider-mock" in names(project["optional-dependencies"]["dev"])
    # The tests and `make install` (hence `make run`) install it.
    assert "samenleren[dev]" in project["optional-dependencies"]["test"]
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"pip install .*-e '\.\[dev,test\]'", makefile)


def test_the_image_installs_the_runtime_dependencies_only():
    installs = [args for keyword, args in instructions() if "pip install" in args]
    assert installs
    for args in installs:
        assert "[" not in args, f"the image installs an extra: {args}"
        assert "oidc" not in args


@pytest.mark.parametrize("environment", ["production", "staging", ""])
def test_the_app_refuses_to_start_a_development_idp_outside_development(environment):
    from samenleren.demo.devidp import DevelopmentIdPRefused, development_idp

    with pytest.raises(DevelopmentIdPRefused, match="does not run with SAMENLEREN_ENV"):
        development_idp(environment, port=0)


def test_demo_run_refuses_in_production(app, monkeypatch):
    from samenleren.demo.cli import demo_cli

    monkeypatch.setitem(app.config, "SAMENLEREN_ENV", "production")
    result = app.test_cli_runner().invoke(demo_cli, ["run", "--port", "0"])
    assert result.exit_code != 0
    assert "for development" in result.output


def test_without_the_package_the_error_names_the_extra(monkeypatch):
    import sys

    from samenleren.demo.devidp import DevelopmentIdPRefused, development_idp

    monkeypatch.setitem(sys.modules, "oidc_provider_mock", None)  # as if not installed
    with pytest.raises(DevelopmentIdPRefused, match=r"\.\[dev\]"):
        development_idp("development", port=0)


def test_in_development_it_starts():
    import requests

    from samenleren.demo.devidp import development_idp, idp_user

    users = [idp_user("dev.user", {"name": "Dev User"})]
    with development_idp("development", port=0, users=users) as server:
        discovery = f"http://localhost:{server.server_port}/.well-known/openid-configuration"
        answer = requests.get(discovery, timeout=5)
        assert answer.status_code == 200
