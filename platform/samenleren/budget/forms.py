"""Reading the budget forms: text from the browser to typed values, or a message per field.

Amounts are read by `core.money` ("1.234,56" or "1234.56", never a float); what an amount or a
date must mean (not 0, a category of the list) is checked by the services.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from samenleren.budget.actuals import ActualInput
from samenleren.budget.models import Actual, Category
from samenleren.core.money import AmountError, amount_message, input_value, parse_cents

ACTUAL_FIELDS = ("spent_on", "amount", "category", "edition_id", "invoice_reference", "description")


def actual_values(actual: Actual | None) -> dict[str, str]:
    if actual is None:
        return {}
    return {
        "spent_on": actual.spent_on.isoformat(),
        "amount": input_value(actual.amount_cents),
        "category": actual.category,
        "edition_id": str(actual.edition_id) if actual.edition_id else "",
        "invoice_reference": actual.invoice_reference,
        "description": actual.description,
    }


@dataclass
class ActualForm:
    values: dict[str, str]
    data: ActualInput | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, form: MultiDict) -> ActualForm:
        values = {name: form.get(name, "", type=str) for name in ACTUAL_FIELDS}
        errors: dict[str, str] = {}
        spent_on = None
        raw_date = values["spent_on"].strip()
        if not raw_date:
            errors["spent_on"] = gettext("Give the date of the invoice or payment.")
        else:
            try:
                spent_on = date.fromisoformat(raw_date)
            except ValueError:
                errors["spent_on"] = gettext(
                    "Give a date such as %(example)s.", example="2027-03-12"
                )
        amount = 0
        if not values["amount"].strip():
            errors["amount"] = gettext("Give the amount in euros.")
        else:
            try:
                amount = parse_cents(values["amount"], allow_negative=True)
            except AmountError as refused:
                errors["amount"] = amount_message(refused)
        category = values["category"].strip()
        if category not in {str(c) for c in Category}:
            errors["category"] = gettext("Choose a category from the list.")
        edition_id = None
        if values["edition_id"].strip():
            try:
                edition_id = uuid.UUID(values["edition_id"].strip())
            except ValueError:
                errors["edition_id"] = gettext("Choose an edition from the list.")
        if errors or spent_on is None:
            return cls(values, None, errors)
        data = ActualInput(
            spent_on=spent_on,
            amount_cents=amount,
            category=category,
            edition_id=edition_id,
            invoice_reference=values["invoice_reference"],
            description=values["description"],
        )
        return cls(values, data, errors)


@dataclass
class BudgetForm:
    values: dict[str, str]
    amount_cents: int = 0
    allocations: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, form: MultiDict) -> BudgetForm:
        names = ["amount"] + [f"allocation-{c}" for c in Category]
        values = {name: form.get(name, "", type=str) for name in names}
        errors: dict[str, str] = {}
        amount = 0
        if not values["amount"].strip():
            errors["amount"] = gettext("Give the budget of the year in euros.")
        else:
            try:
                amount = parse_cents(values["amount"])
            except AmountError as refused:
                errors["amount"] = amount_message(refused)
        allocations = {}
        for category in Category:
            name = f"allocation-{category}"
            if not values[name].strip():
                continue
            try:
                allocations[str(category)] = parse_cents(values[name])
            except AmountError as refused:
                errors[name] = amount_message(refused)
        return cls(values, amount, allocations, errors)


def budget_values(amount_cents: int | None, allocations: dict[str, int]) -> dict[str, str]:
    values = {"amount": input_value(amount_cents)}
    for category in Category:
        cents = allocations.get(str(category))
        values[f"allocation-{category}"] = input_value(cents) if cents is not None else ""
    return values
