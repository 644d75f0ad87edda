"""publiccode.yml at the repository root follows the Standard for Public Code (version 0.4):
its required keys are there, with values from the standard's own lists."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
#: From the standard (https://yml.publiccode.tools/schema.core.html), version 0.4.
REQUIRED = ("publiccodeYmlVersion", "name", "url", "platforms", "categories",
            "developmentStatus", "softwareType", "description", "legal", "maintenance",
            "localisation")  # fmt: skip
DEVELOPMENT_STATUS = {"concept", "development", "beta", "stable", "obsolete"}
SOFTWARE_TYPE = {"standalone/mobile", "standalone/iot", "standalone/desktop", "standalone/web",
                 "standalone/backend", "standalone/other", "addon", "library",
                 "configurationFiles"}  # fmt: skip
MAINTENANCE = {"internal", "contract", "community", "none"}


def _load() -> dict:
    return yaml.safe_load((REPO_ROOT / "publiccode.yml").read_text(encoding="utf-8"))


def test_required_keys_and_their_values():
    code = _load()
    missing = [key for key in REQUIRED if key not in code]
    assert missing == [], f"publiccode.yml lacks {missing}"
    assert str(code["publiccodeYmlVersion"]).startswith("0.")
    assert re.fullmatch(r"https://\S+", code["url"])
    assert code["developmentStatus"] in DEVELOPMENT_STATUS
    assert code["softwareType"] in SOFTWARE_TYPE
    assert code["legal"]["license"] == "EUPL-1.2"
    maintenance = code["maintenance"]
    assert maintenance["type"] in MAINTENANCE
    if maintenance["type"] in {"internal", "community"}:
        assert maintenance["contacts"] and all(c.get("name") for c in maintenance["contacts"])
    assert isinstance(code["localisation"]["localisationReady"], bool)
    assert set(code["localisation"]["availableLanguages"]) == {"nl", "en", "fy"}


def test_descriptions_in_dutch_and_english_within_the_standards_lengths():
    description = _load()["description"]
    assert {"nl", "en"} <= set(description)
    for language in ("nl", "en"):
        text = description[language]
        assert 0 < len(text["shortDescription"]) <= 150, language
        assert 150 <= len(text["longDescription"]) <= 10_000, language
        assert text["features"] and all(len(f) <= 100 for f in text["features"]), language


def test_depends_on_postgresql_redis_and_kubernetes():
    names = {dep["name"] for dep in _load()["dependsOn"]["open"]}
    assert {"PostgreSQL", "Redis", "Kubernetes"} <= names
