"""The processing register (art. 30 AVG) of the current tenant: one processing activity per
kind of data and per step of the tenant's process template, with its purpose, legal basis,
categories of data and persons, recipients, the tenant's actual retention period and the
security measures. Ready to copy into the organisation's own register (JSON and CSV).

It is written from the code's facts (who reads a step follows the confidentiality rule; the
periods are the tenant's own); what the organisation adds (its FG, its own systems) belongs in
its own register.
"""

from __future__ import annotations

import csv
import io
import json

from flask_babel import get_locale, gettext

from samenleren.core.spreadsheets import neutralise
from samenleren.core.tenancy import require_tenant
from samenleren.identity.models import Role
from samenleren.process_templates.definition import StepKind
from samenleren.process_templates.services import NoPublishedTemplate, current_version
from samenleren.retention.policy import KINDS, describe, periods

#: The columns, in order (also the JSON keys).
COLUMNS = (
    "activity",
    "purpose",
    "legal_basis",
    "data_categories",
    "data_subjects",
    "recipients",
    "retention",
    "security_measures",
)


def _header() -> dict[str, str]:
    return {
        "activity": gettext("Processing activity"),
        "purpose": gettext("Purpose"),
        "legal_basis": gettext("Legal basis"),
        "data_categories": gettext("Categories of personal data"),
        "data_subjects": gettext("Categories of persons"),
        "recipients": gettext("Recipients"),
        "retention": gettext("Retention period"),
        "security_measures": gettext("Security measures"),
    }


def _role_names() -> dict[Role, str]:
    return {
        Role.LEARNER: gettext("learner"),
        Role.COACH: gettext("learning coach"),
        Role.MANAGER: gettext("manager"),
        Role.TRAINER: gettext("trainer"),
        Role.PROGRAMME_ADMIN: gettext("programme administrator (HR)"),
    }


def activities() -> list[dict[str, str]]:
    """The register's rows for the current tenant, in the request's language."""
    values = periods()
    security = gettext(
        "Access per role and per organisation (database row-level security); sign-in through the "
        "organisation's identity provider; confidential notes readable by learner and coach "
        "only; TLS in transit; hash-chained audit log; backups encrypted; hosting in the EU."
    )
    employment = gettext(
        "AVG art. 6(1)(b) and (e): the employment relationship and the organisation's public "
        "task of developing its staff."
    )
    employees = gettext("employees taking part (learners), their learning coaches and managers")
    period = {key: f"{describe(key, values[key])} {KINDS[key].starts}" for key in KINDS}
    rows = [
        {
            "activity": gettext("Peer-learning trajectories: enrolment, steps and goals"),
            "purpose": gettext("Organising and following each employee's learning trajectory."),
            "legal_basis": employment,
            "data_categories": gettext(
                "name, e-mail, employee number, department, manager, enrolments, learning goals, "
                "appointments, answers"
            ),
            "data_subjects": employees,
            "recipients": gettext("learner, learning coach, manager, programme administrator (HR)"),
            "retention": period["trajectory_records"],
            "security_measures": security,
        },
        {
            "activity": gettext("Confidential coaching notes"),
            "purpose": gettext("The learner's progress conversations with their learning coach."),
            "legal_basis": employment,
            "data_categories": gettext("what learner and coach record in progress conversations"),
            "data_subjects": gettext("learners and their learning coaches"),
            "recipients": gettext("the learner and their current learning coach only"),
            "retention": period["coaching_notes"],
            "security_measures": security,
        },
        {
            "activity": gettext("Ratings of expected results"),
            "purpose": gettext("Showing whether what was learnt is applied in the work."),
            "legal_basis": employment,
            "data_categories": gettext("rating levels and examples from the work"),
            "data_subjects": gettext("learners and their managers"),
            "recipients": gettext(
                "learner, manager; programme administrator (HR) as counts in the report"
            ),
            "retention": period["ratings"],
            "security_measures": security,
        },
        {
            "activity": gettext("Mails"),
            "purpose": gettext("Invitations, reminders and notices about the trajectory."),
            "legal_basis": employment,
            "data_categories": gettext("name, e-mail address, appointment details"),
            "data_subjects": employees,
            "recipients": gettext("the addressee; the organisation's mail server"),
            "retention": period["mails"],
            "security_measures": security,
        },
        {
            "activity": gettext("Audit log"),
            "purpose": gettext("Accounting for who did what (information security, BIO)."),
            "legal_basis": gettext(
                "AVG art. 6(1)(c) with art. 32: the legal obligation to secure processing."
            ),
            "data_categories": gettext("user, action, object, time, network address, browser"),
            "data_subjects": gettext("everyone who uses the platform"),
            "recipients": gettext("programme administrator, the organisation's CISO"),
            "retention": period["audit_log"],
            "security_measures": security,
        },
        {
            "activity": gettext("Exports"),
            "purpose": gettext("Files of programme data for the organisation's own analysis."),
            "legal_basis": employment,
            "data_categories": gettext("the programme data chosen, never confidential notes"),
            "data_subjects": employees,
            "recipients": gettext("programme administrator (HR)"),
            "retention": period["exports"],
            "security_measures": security,
        },
    ]
    rows.extend(_step_activities(employment, period["trajectory_records"], security))
    return rows


def _step_activities(basis: str, retention: str, security: str) -> list[dict[str, str]]:
    try:
        definition = current_version().content
    except NoPublishedTemplate:
        return []
    locale = str(get_locale() or require_tenant().default_locale)
    names = _role_names()
    rows = []
    for step in definition.steps:
        if step.confidential:
            readers = [Role.LEARNER, Role.COACH]
        else:
            readers = [role for role in names if role in set(step.participants)]
            if Role.PROGRAMME_ADMIN not in readers:
                readers.append(Role.PROGRAMME_ADMIN)
        rows.append(
            {
                "activity": gettext("Step: %(name)s", name=step.name_in(locale)),
                "purpose": (
                    gettext("A group meeting of the edition.")
                    if step.kind is StepKind.GROUP_MEETING
                    else gettext("A step of the learning trajectory.")
                ),
                "legal_basis": basis,
                "data_categories": ", ".join(field.label_in(locale) for field in step.fields)
                or gettext("date, place and who took part"),
                "data_subjects": ", ".join(
                    names[role] for role in step.participants if role in names
                ),
                "recipients": ", ".join(names[role] for role in readers),
                "retention": (
                    f"{retention}; "
                    + gettext("confidential notes: see Confidential coaching notes")
                    if step.confidential
                    else retention
                ),
                "security_measures": security,
            }
        )
    return rows


def as_json(rows: list[dict[str, str]]) -> str:
    tenant = require_tenant()
    return json.dumps(
        {"organisation": tenant.name, "columns": _header(), "activities": rows},
        ensure_ascii=False,
        indent=2,
    )


def as_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    header = _header()
    writer.writerow([header[column] for column in COLUMNS])
    for row in rows:
        writer.writerow([neutralise(row[column]) for column in COLUMNS])
    return out.getvalue()
