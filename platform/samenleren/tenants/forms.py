"""Reading the programme administrator's forms of the tenants domain."""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from samenleren.core.config import LANGUAGES
from samenleren.tenants.models import OrganisationGoal
from samenleren.tenants.services import OrganisationGoalInput


@dataclass
class OrganisationGoalForm:
    """The goal form: a code, a title and a description per language, the active flag."""

    values: dict[str, object]
    data: OrganisationGoalInput

    @classmethod
    def parse(cls, form: MultiDict) -> OrganisationGoalForm:
        values: dict[str, object] = {"code": form.get("code", "")}
        for lang in LANGUAGES:
            values[f"title_{lang}"] = form.get(f"title_{lang}", "")
            values[f"description_{lang}"] = form.get(f"description_{lang}", "")
        values["active"] = form.get("active") == "yes"
        data = OrganisationGoalInput(
            code=str(values["code"]),
            title={lang: str(values[f"title_{lang}"]) for lang in LANGUAGES},
            description={lang: str(values[f"description_{lang}"]) for lang in LANGUAGES},
            active=bool(values["active"]),
        )
        return cls(values, data)

    @staticmethod
    def values_of(goal: OrganisationGoal) -> dict[str, object]:
        values: dict[str, object] = {"code": goal.code, "active": goal.active}
        for lang in LANGUAGES:
            values[f"title_{lang}"] = (goal.title or {}).get(lang, "")
            values[f"description_{lang}"] = (goal.description or {}).get(lang, "")
        return values
