"""The operator console's configuration: from the environment, refused when it cannot work."""

from __future__ import annotations

import pytest

from samenleren.core.config import ConfigError, load_config

OPERATOR_ENV = {
    "SAMENLEREN_OPERATOR_OIDC_ISSUER": "https://login.platform.example/realms/beheer",
    "SAMENLEREN_OPERATOR_OIDC_CLIENT_ID": "samenleren-console",
    "SAMENLEREN_OPERATOR_OIDC_CLIENT_SECRET": "een-lang-geheim",
    "SAMENLEREN_OPERATORS": " olga , piet,, ",
}


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("SAMENLEREN_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://samenleren@db.example.nl/samenleren")
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("SAMENLEREN_SECRET_ENCRYPTION_KEY", "k" * 43 + "=")
    monkeypatch.setenv("SAMENLEREN_BASE_URL", "https://samenleren.example.nl")
    for name in (*OPERATOR_ENV, "SAMENLEREN_OPERATOR_GROUP", "SAMENLEREN_OPERATOR_OIDC_SCOPES"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_console_is_closed_without_an_issuer(production):
    config = load_config()
    assert config["SAMENLEREN_OPERATOR_OIDC_ISSUER"] == ""
    assert config["SAMENLEREN_OPERATORS"] == ()


def test_a_complete_operator_configuration_is_read(production):
    for name, value in OPERATOR_ENV.items():
        production.setenv(name, value)
    config = load_config()
    assert (
        config["SAMENLEREN_OPERATOR_OIDC_ISSUER"] == OPERATOR_ENV["SAMENLEREN_OPERATOR_OIDC_ISSUER"]
    )
    assert config["SAMENLEREN_OPERATORS"] == ("olga", "piet")
    assert config["SAMENLEREN_OPERATOR_OIDC_SCOPES"] == ("openid", "profile", "email")
    assert config["SAMENLEREN_SSO_TEST_TIMEOUT"] == 5.0


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"SAMENLEREN_OPERATOR_OIDC_CLIENT_ID": ""}, "SAMENLEREN_OPERATOR_OIDC_CLIENT_ID"),
        ({"SAMENLEREN_OPERATOR_OIDC_CLIENT_SECRET": ""}, "SAMENLEREN_OPERATOR_OIDC_CLIENT_SECRET"),
        ({"SAMENLEREN_OPERATORS": " , "}, "nobody may use the console"),
        ({"SAMENLEREN_OPERATOR_OIDC_SCOPES": "profile email"}, "openid"),
    ],
)
def test_production_refuses_a_console_that_cannot_work(production, change, words):
    for name, value in (OPERATOR_ENV | change).items():
        production.setenv(name, value)
    with pytest.raises(ConfigError, match=words):
        load_config()


def test_a_group_alone_is_enough(production):
    for name, value in (OPERATOR_ENV | {"SAMENLEREN_OPERATORS": ""}).items():
        production.setenv(name, value)
    production.setenv("SAMENLEREN_OPERATOR_GROUP", "SL-Platformbeheer")
    config = load_config()
    assert config["SAMENLEREN_OPERATOR_GROUP"] == "SL-Platformbeheer"
    assert config["SAMENLEREN_OPERATORS"] == ()
