"""Tenant manifests: strict validation, one line per problem naming the file and the key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from samenleren.tenants.manifest import (
    ManifestError,
    contrast_with_white,
    load_manifest,
)
from tests.conftest import REPO_ROOT

#: A complete, valid manifest of a tenant that is not shipped (so onboarding it is new).
BASE = """\
slug = "zeeland"
name = "Provincie Zeeland"
default_locale = "nl"

[programme.description]
nl = "Samen leren in Zeeland."
en = "Learning together in Zeeland."

[sso]
issuer = "https://login.zeeland.example.nl/adfs"
client_id = "samenleren"
client_secret_env = "SAMENLEREN_ZEELAND_OIDC_SECRET"

[roles]
default = ["learner"]

[roles.groups]
"ZL-Leercoaches" = ["coach"]

[theme]
primary_color = "#154273"

[[organisation_goals]]
code = "Z1"
title = { nl = "Een veilige kust", en = "A safe coast" }

[[organisation_goals]]
code = "Z2"
title = { nl = "Een sterke economie", en = "A strong economy" }
"""

SSO_BLOCK = """\
[sso]
issuer = "https://login.zeeland.example.nl/adfs"
client_id = "samenleren"
client_secret_env = "SAMENLEREN_ZEELAND_OIDC_SECRET"
"""


def _replace(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


def _drop(line: str) -> Callable[[str], str]:
    return _replace(line + "\n", "")


#: (id, edit of BASE, key named in the error or "" for a file-level error, words in the message)
BAD_MANIFESTS: list[tuple[str, Callable[[str], str | bytes], str, str]] = [
    ("not-toml", lambda t: t + "\nthis is not toml\n", "", "not valid TOML"),
    (
        "not-utf8",
        lambda t: t.replace("Provincie Zeeland", "Provincie Zéeland").encode("latin-1"),
        "",
        "not UTF-8",
    ),
    (
        "unknown-top-level-key",
        _replace('default_locale = "nl"\n', 'default_locale = "nl"\ncolour = "blue"\n'),
        "colour",
        "not a known key",
    ),
    ("misspelt-sso-issuer", _replace("issuer =", "isuer ="), "sso.isuer", "not a known key"),
    (
        "unknown-theme-key",
        _replace("primary_color =", "primary_colour ="),
        "theme.primary_colour",
        "not a known key",
    ),
    ("missing-slug", _drop('slug = "zeeland"'), "slug", "required"),
    ("missing-name", _drop('name = "Provincie Zeeland"'), "name", "required"),
    ("missing-default-locale", _drop('default_locale = "nl"'), "default_locale", "required"),
    ("missing-sso", _replace(SSO_BLOCK, ""), "sso", "required"),
    (
        "missing-sso-issuer",
        _drop('issuer = "https://login.zeeland.example.nl/adfs"'),
        "sso.issuer",
        "required",
    ),
    ("missing-sso-client-id", _drop('client_id = "samenleren"'), "sso.client_id", "required"),
    (
        "missing-sso-client-secret-env",
        _drop('client_secret_env = "SAMENLEREN_ZEELAND_OIDC_SECRET"'),
        "sso.client_secret_env",
        "required",
    ),
    ("slug-uppercase", _replace('"zeeland"', '"Zeeland"'), "slug", "lowercase"),
    ("slug-reserved", _replace('"zeeland"', '"static"'), "slug", "reserved"),
    ("slug-too-long", _replace('"zeeland"', '"' + "z" * 41 + '"'), "slug", "2-40"),
    ("slug-double-hyphen", _replace('"zeeland"', '"zee--land"'), "slug", "hyphens"),
    (
        "unknown-locale",
        _replace('default_locale = "nl"', 'default_locale = "de"'),
        "default_locale",
        "'de'",
    ),
    (
        "secret-in-secret-env",
        _replace('"SAMENLEREN_ZEELAND_OIDC_SECRET"', '"q8Fj~2kL.9zXwPp_4vRt"'),
        "sso.client_secret_env",
        "not the secret itself",
    ),
    (
        "http-issuer-not-localhost",
        _replace("https://login.zeeland", "http://login.zeeland"),
        "sso.issuer",
        "https://",
    ),
    (
        "scopes-without-openid",
        _replace('client_id = "samenleren"', 'client_id = "samenleren"\nscopes = ["profile"]'),
        "sso.scopes",
        "openid",
    ),
    ("low-contrast-colour", _replace("#154273", "#ffff00"), "theme.primary_color", "contrast"),
    ("just-too-light-colour", _replace("#154273", "#777777"), "theme.primary_color", "4.5"),
    ("not-a-colour", _replace("#154273", "blue"), "theme.primary_color", "colour"),
    (
        "unknown-role-in-groups",
        _replace('["coach"]', '["superuser"]'),
        "roles.groups.ZL-Leercoaches[0]",
        "'superuser' is not a role",
    ),
    (
        "unknown-default-role",
        _replace('default = ["learner"]', 'default = ["boss"]'),
        "roles.default[0]",
        "not a role",
    ),
    ("duplicate-goal-code", _replace('code = "Z2"', 'code = "Z1"'), "organisation_goals", "Z1"),
    (
        "unknown-description-language",
        _replace('en = "Learning together in Zeeland."', 'de = "Zusammen lernen."'),
        "programme.description",
        "'de'",
    ),
    # Control characters: names, titles, addresses and URLs are one line; a description may
    # span lines but holds no other control character.
    (
        "line-break-in-name",
        _replace('"Provincie Zeeland"', '"Provincie\\r\\nBcc: eve@example.nl"'),
        "name",
        "one line",
    ),
    (
        "line-break-in-goal-title",
        _replace('"Een veilige kust"', '"Een veilige\\nkust"'),
        "organisation_goals[0].title.nl",
        "one line",
    ),
    (
        "line-break-in-mail-from",
        _replace(
            'default_locale = "nl"\n',
            'default_locale = "nl"\nmail_from = "Zeeland <a@zeeland.nl>\\r\\nBcc: e@x.nl"\n',
        ),
        "mail_from",
        "one line",
    ),
    (
        "line-break-in-group-name",
        _replace('"ZL-Leercoaches"', '"ZL-\\nLeercoaches"'),
        "roles.groups.ZL-\\nLeercoaches.[key]",
        "one line",
    ),
    (
        "escape-in-description",
        _replace('"Samen leren in Zeeland."', '"Samen leren\\u001b[31m in Zeeland."'),
        "programme.description.nl",
        "control characters",
    ),
    (
        "missing-logo-file",
        _replace('primary_color = "#154273"', 'primary_color = "#154273"\nlogo = "nergens.svg"'),
        "theme.logo",
        "not found",
    ),
    ("budget-float", lambda t: t + "\n[budget]\nyearly = 5000.5\n", "budget.yearly", "string"),
    ("budget-negative", lambda t: t + "\n[budget]\nyearly = -5\n", "budget.yearly", "at least 0"),
    (
        "budget-three-decimals",
        lambda t: t + '\n[budget]\nyearly = "12,345"\n',
        "budget.yearly",
        "two decimals",
    ),
    (
        "budget-words",
        lambda t: t + '\n[budget]\nyearly = "vijfduizend"\n',
        "budget.yearly",
        "amount",
    ),
    ("budget-without-amount", lambda t: t + "\n[budget]\n", "budget.yearly", "required"),
    (
        "logo-of-wrong-type",
        _replace('primary_color = "#154273"', 'primary_color = "#154273"\nlogo = "logo.gif"'),
        "theme.logo",
        ".svg or .png",
    ),
]


def write_manifest(directory: Path, content: str | bytes, name: str = "zeeland.toml") -> Path:
    """Write a manifest file (text as UTF-8, bytes as they are) and return its path."""
    path = directory / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def expected_prefix(path: Path, key: str) -> str:
    return f"{path}: {key}: " if key else f"{path}: "


@pytest.mark.parametrize(
    ("edit", "key", "words"),
    [pytest.param(edit, key, words, id=case) for case, edit, key, words in BAD_MANIFESTS],
)
def test_a_bad_manifest_is_one_line_naming_file_and_key(
    tmp_path: Path, edit, key: str, words: str
) -> None:
    """Every problem is reported as `<file>: <key>: <message>` on a single line."""
    path = write_manifest(tmp_path, edit(BASE))
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    line = str(caught.value)
    assert "\n" not in line
    assert line.startswith(expected_prefix(path, key)), line
    assert caught.value.key == key
    assert words in line


def test_an_unreadable_manifest_is_one_line(tmp_path: Path) -> None:
    """A path that does not exist is reported as such, not as a traceback."""
    path = tmp_path / "bestaat-niet.toml"
    with pytest.raises(ManifestError, match=r"cannot be read") as caught:
        load_manifest(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_a_description_keeps_its_line_breaks(tmp_path: Path) -> None:
    text = BASE.replace('"Samen leren in Zeeland."', '"Samen leren\\nin Zeeland.\\tEcht."')
    manifest = load_manifest(write_manifest(tmp_path, text)).manifest
    assert manifest.programme.description["nl"] == "Samen leren\nin Zeeland.\tEcht."


@pytest.mark.parametrize(
    ("line", "cents"), [("yearly = 5000", 500000), ('yearly = "5.000,50"', 500050)]
)
def test_the_yearly_budget_is_read_in_cents(tmp_path: Path, line: str, cents: int) -> None:
    manifest = load_manifest(write_manifest(tmp_path, BASE + f"\n[budget]\n{line}\n")).manifest
    assert manifest.budget is not None and manifest.budget.yearly_cents == cents
    assert load_manifest(write_manifest(tmp_path, BASE)).manifest.budget is None


def test_the_base_manifest_is_valid(tmp_path: Path) -> None:
    """The manifest the bad cases are made from is itself fine (so each case fails for its edit)."""
    loaded = load_manifest(write_manifest(tmp_path, BASE))
    manifest = loaded.manifest
    assert manifest.slug == "zeeland"
    assert manifest.sso.scopes == ["openid", "profile", "email"]
    assert [goal.code for goal in manifest.organisation_goals] == ["Z1", "Z2"]
    assert loaded.logo is None


@pytest.mark.parametrize(
    "issuer", ["http://localhost:8080", "http://127.0.0.1:9000/realms/zeeland", "https://idp.nl"]
)
def test_http_issuers_are_allowed_on_localhost_only(tmp_path: Path, issuer: str) -> None:
    """The development IdP runs on http://localhost; that is the only plain-http exception."""
    text = BASE.replace("https://login.zeeland.example.nl/adfs", issuer)
    assert load_manifest(write_manifest(tmp_path, text)).manifest.sso.issuer == issuer


@pytest.mark.parametrize("issuer", ["http://localhost:8080", "http://127.0.0.1:9000/realms/z"])
def test_production_manifests_may_not_name_a_plain_http_localhost_issuer(
    tmp_path: Path, issuer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAMENLEREN_ENV", "production")
    text = BASE.replace("https://login.zeeland.example.nl/adfs", issuer)
    with pytest.raises(ManifestError, match="https://"):
        load_manifest(write_manifest(tmp_path, text))


def test_the_contrast_limit_is_wcag_aa() -> None:
    """White text needs 4.5:1: #767676 just passes, #777777 just fails, the extremes are exact."""
    assert contrast_with_white("#ffffff") == pytest.approx(1.0)
    assert contrast_with_white("#000000") == pytest.approx(21.0)
    assert contrast_with_white("#767676") >= 4.5 > contrast_with_white("#777777")


def test_the_digest_follows_the_content(tmp_path: Path) -> None:
    """Same content, same digest; any change (including the logo) gives another."""
    first = load_manifest(write_manifest(tmp_path, BASE)).digest
    assert load_manifest(write_manifest(tmp_path, BASE, "copy.toml")).digest == first
    renamed = BASE.replace("Provincie Zeeland", "Provincie Zeeland (test)")
    assert load_manifest(write_manifest(tmp_path, renamed, "renamed.toml")).digest != first
    (tmp_path / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    with_logo = BASE.replace('"#154273"', '"#154273"\nlogo = "logo.svg"')
    loaded = load_manifest(write_manifest(tmp_path, with_logo, "logo.toml"))
    assert loaded.logo_type == "image/svg+xml"
    assert loaded.logo and loaded.digest != first


@pytest.mark.parametrize("slug", ["flevoland", "gelderland"])
def test_the_shipped_manifests_load(slug: str) -> None:
    """tenants/flevoland.toml and tenants/gelderland.toml are valid, with their logos."""
    loaded = load_manifest(REPO_ROOT / "tenants" / f"{slug}.toml")
    assert loaded.manifest.slug == slug
    assert loaded.manifest.name.startswith("Provincie ")
    assert loaded.manifest.organisation_goals
    assert loaded.logo_type == "image/svg+xml" and loaded.logo
    assert set(loaded.manifest.roles.groups) and loaded.manifest.sso.client_secret_env.isupper()
