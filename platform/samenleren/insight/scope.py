"""What a report covers: a period and filters, read from a GET form, and who looks.

A trajectory belongs to a period when its edition ended in it (the training is over, so
its results can be measured). Filters narrow the trajectories: by organisation goal (one of
its learning goals is linked to it), training, edition, trainer, provider or the learner's
department. A manager's report covers their own team only (their direct reports).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from flask_babel import gettext

from samenleren.core.errors_input import InvalidInput

QUARTERS = {1: (1, 3), 2: (4, 6), 3: (7, 9), 4: (10, 12)}
FILTERS = ("goal", "training", "edition", "trainer", "provider", "department")


@dataclass(frozen=True)
class Period:
    starts_on: date
    ends_on: date
    #: "year", "quarter" or "custom": how it was chosen (the form shows it again).
    kind: str = "year"
    year: int | None = None
    quarter: int | None = None

    @classmethod
    def of_year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31), "year", year)

    @classmethod
    def of_quarter(cls, year: int, quarter: int) -> Period:
        first, last = QUARTERS[quarter]
        end = date(year + (last == 12), 1 if last == 12 else last + 1, 1)
        return cls(
            date(year, first, 1), date.fromordinal(end.toordinal() - 1), "quarter", year, quarter
        )

    @property
    def key(self) -> str:
        """A short name of the period for files: 2026, 2026-Q2, 2026-01-01..2026-06-30."""
        if self.kind == "year":
            return str(self.year)
        if self.kind == "quarter":
            return f"{self.year}-Q{self.quarter}"
        return f"{self.starts_on.isoformat()}..{self.ends_on.isoformat()}"


@dataclass(frozen=True)
class Scope:
    period: Period
    goal: uuid.UUID | None = None
    training: uuid.UUID | None = None
    edition: uuid.UUID | None = None
    trainer: uuid.UUID | None = None
    provider: str | None = None
    department: uuid.UUID | None = None
    #: A manager's team view: only the learners whose line manager this is.
    manager: uuid.UUID | None = None
    #: Values as given in the form (shown again in it).
    form: dict[str, str] = field(default_factory=dict)

    @property
    def is_whole_tenant(self) -> bool:
        """Only figures about the whole tenant are shown whatever the group's size."""
        return self.manager is None and not any(
            (self.goal, self.training, self.edition, self.trainer, self.provider, self.department)
        )

    def with_period(self, period: Period) -> Scope:
        return replace(self, period=period)


def _uuid(raw: str, name: str, errors: dict[str, str]) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        errors[name] = gettext("Choose one of the options.")
        return None


def _year(raw: str, name: str, errors: dict[str, str], default: int) -> int:
    if not raw:
        return default
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        errors[name] = gettext("Give a year between 2000 and 2100.")
        return default
    return int(raw)


def parse_scope(args: Mapping[str, str], today: date, manager: uuid.UUID | None = None) -> Scope:
    """The scope a report form asks for; raises InvalidInput naming the fields it refuses.

    Without a choice: the current year. An unknown filter value is simply a filter that
    matches nothing (another tenant's id looks like a missing one).
    """
    errors: dict[str, str] = {}
    kind = args.get("period", "year") or "year"
    year = _year(args.get("year", ""), "year", errors, today.year)
    period = Period.of_year(year)
    if kind == "quarter":
        raw = args.get("quarter", "")
        if raw not in {"1", "2", "3", "4"}:
            errors["quarter"] = gettext("Choose a quarter.")
        else:
            period = Period.of_quarter(year, int(raw))
    elif kind == "custom":
        try:
            starts = date.fromisoformat(args.get("from", ""))
            ends = date.fromisoformat(args.get("to", ""))
        except ValueError:
            errors["from"] = gettext("Give a date as YYYY-MM-DD.")
        else:
            if ends < starts:
                errors["to"] = gettext("The end comes before the start.")
            elif (ends - starts).days > 3660:
                errors["to"] = gettext("Choose a period of at most ten years.")
            else:
                period = Period(starts, ends, "custom")
    elif kind != "year":
        errors["period"] = gettext("Choose one of the options.")
    provider = (args.get("provider", "") or "").strip()
    if len(provider) > 200:
        errors["provider"] = gettext("At most %(count)d characters.", count=200)
    scope = Scope(
        period=period,
        goal=_uuid(args.get("goal", ""), "goal", errors),
        training=_uuid(args.get("training", ""), "training", errors),
        edition=_uuid(args.get("edition", ""), "edition", errors),
        trainer=_uuid(args.get("trainer", ""), "trainer", errors),
        provider=provider or None,
        department=_uuid(args.get("department", ""), "department", errors),
        manager=manager,
        form={
            k: str(v)
            for k, v in args.items()
            if k in {*FILTERS, "period", "year", "quarter", "from", "to"}
        },
    )
    if errors:
        raise InvalidInput(errors)
    return scope
